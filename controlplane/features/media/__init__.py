"""Hold and resume, recording with the privacy shield, auto wrap-up."""
