// Modules that register themselves in the slots (src/slots.ts) are imported
// here, once, by main.tsx. The dialogs and panes live in src/dialogs/ and
// src/panes/; each adds its import line below.
import './dialogs/index';
