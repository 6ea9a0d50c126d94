//! The three custodians P0, P1, P2 and their ring order.
//!
//! Party `Pi` holds share components `i` and `i+1 (mod 3)`. Its *next* party is `P(i+1)`
//! and its *previous* party `P(i-1)`. In every protocol here a party sends only to its
//! previous party and receives only from its next one (except inputs by P0, which go to
//! P2, its previous party as well).

/// One of the three custodians.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PartyId {
    /// Party 0.
    P0,
    /// Party 1.
    P1,
    /// Party 2.
    P2,
}

impl PartyId {
    /// All parties, in order.
    pub const ALL: [PartyId; 3] = [PartyId::P0, PartyId::P1, PartyId::P2];

    /// The index `i` of `Pi`, also the index of the first share component it holds.
    pub fn index(self) -> usize {
        match self {
            PartyId::P0 => 0,
            PartyId::P1 => 1,
            PartyId::P2 => 2,
        }
    }

    /// The party with index `i mod 3`.
    pub fn from_index(i: usize) -> Self {
        Self::ALL[i % 3]
    }

    /// `P(i+1)`.
    pub fn next(self) -> Self {
        Self::from_index(self.index() + 1)
    }

    /// `P(i-1)`.
    pub fn prev(self) -> Self {
        Self::from_index(self.index() + 2)
    }
}

impl std::fmt::Display for PartyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "P{}", self.index())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_order() {
        for p in PartyId::ALL {
            assert_eq!(p.next().prev(), p);
            assert_ne!(p.next(), p);
            assert_ne!(p.prev(), p.next());
            assert_eq!(PartyId::from_index(p.index()), p);
        }
        assert_eq!(PartyId::P2.next(), PartyId::P0);
        assert_eq!(PartyId::P0.prev(), PartyId::P2);
        assert_eq!(PartyId::P1.to_string(), "P1");
    }
}
