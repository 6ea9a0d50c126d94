//! Biometric templates for masque.
