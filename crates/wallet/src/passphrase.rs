//! The passphrase that encrypts a wallet file; zeroized on drop, never printed.

use std::fmt;

use zeroize::Zeroizing;

use crate::error::WalletError;

/// A wallet file passphrase. It only protects the file: the recovery phrase restores the
/// wallet without it.
#[derive(Clone)]
pub struct Passphrase(Zeroizing<String>);

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

impl Passphrase {
    /// Takes a passphrase; an empty one is refused (a file without a passphrase is chosen
    /// explicitly, not by typing nothing).
    pub fn new(text: Zeroizing<String>) -> Result<Self, WalletError> {
        if text.is_empty() {
            return Err(WalletError::Passphrase(
                "the passphrase is empty; choose one, or create the wallet without encryption",
            ));
        }
        Ok(Self(text))
    }

    /// The passphrase text.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_refused_and_debug_is_redacted() {
        assert!(Passphrase::new(Zeroizing::new(String::new())).is_err());
        let p = Passphrase::new(Zeroizing::new("hunter2".into())).unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
