// Registers the dialogs and auxiliary panes in the desktop's slots (see
// src/slots.ts): the header's Outdial and Campaign contact buttons, the
// history and call-guide tabs, the transfer and consult controls.
export {};
