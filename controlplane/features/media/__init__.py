"""Hold and resume, recording with the privacy shield."""
