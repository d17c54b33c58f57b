//! Entity and relation kinds, and which relation kinds may join which entity kinds.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What an entity is. Serialised in SCREAMING_SNAKE_CASE, as in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntityKind {
    /// A sovereign state (United States, Iraq, Syria).
    Country,
    /// A sub-national region (Kurdistan Region).
    Region,
    /// A city (Erbil).
    City,
    /// A government (Kurdistan Regional Government).
    Government,
    /// A ministry or department of a government.
    Ministry,
    /// A legislature (U.S. Congress).
    Legislature,
    /// A military command or task force (CJTF-OIR).
    MilitaryCommand,
    /// A regular armed force or a group of forces (Peshmerga).
    ArmedForce,
    /// An internal security or intelligence service (Asayish).
    SecurityService,
    /// A non-state armed group (ISIS).
    ArmedGroup,
    /// A natural person.
    Person,
    /// A fund that money is appropriated to and paid from (CTEF).
    Fund,
    /// A law or bill (FY2026 NDAA).
    Legislation,
    /// A meeting, round of talks or other dated happening.
    Event,
    /// A newspaper, broadcaster or news site.
    MediaOutlet,
}

/// The shape of an entity kind, which decides its concrete GraphQL type
/// and the kind-specific fields it may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityClass {
    /// A person.
    Person,
    /// Any organisation or body.
    Organization,
    /// A fund.
    Fund,
    /// A piece of legislation.
    Legislation,
    /// An event.
    Event,
    /// A country, region or city.
    Place,
}

impl EntityKind {
    /// Every kind, in declaration order.
    pub const ALL: [EntityKind; 15] = [
        EntityKind::Country,
        EntityKind::Region,
        EntityKind::City,
        EntityKind::Government,
        EntityKind::Ministry,
        EntityKind::Legislature,
        EntityKind::MilitaryCommand,
        EntityKind::ArmedForce,
        EntityKind::SecurityService,
        EntityKind::ArmedGroup,
        EntityKind::Person,
        EntityKind::Fund,
        EntityKind::Legislation,
        EntityKind::Event,
        EntityKind::MediaOutlet,
    ];

    /// The class this kind belongs to.
    pub fn class(self) -> EntityClass {
        use EntityKind::*;
        match self {
            Country | Region | City => EntityClass::Place,
            Government | Ministry | Legislature | MilitaryCommand | ArmedForce
            | SecurityService | ArmedGroup | MediaOutlet => EntityClass::Organization,
            Person => EntityClass::Person,
            Fund => EntityClass::Fund,
            Legislation => EntityClass::Legislation,
            Event => EntityClass::Event,
        }
    }

    /// The API name (`ARMED_FORCE`).
    pub fn as_str(self) -> &'static str {
        use EntityKind::*;
        match self {
            Country => "COUNTRY",
            Region => "REGION",
            City => "CITY",
            Government => "GOVERNMENT",
            Ministry => "MINISTRY",
            Legislature => "LEGISLATURE",
            MilitaryCommand => "MILITARY_COMMAND",
            ArmedForce => "ARMED_FORCE",
            SecurityService => "SECURITY_SERVICE",
            ArmedGroup => "ARMED_GROUP",
            Person => "PERSON",
            Fund => "FUND",
            Legislation => "LEGISLATION",
            Event => "EVENT",
            MediaOutlet => "MEDIA_OUTLET",
        }
    }

    /// Bodies that hold people, money or forces: governments, ministries,
    /// legislatures, commands and forces, but not outlets or places.
    fn is_body(self) -> bool {
        self.class() == EntityClass::Organization && self != EntityKind::MediaOutlet
    }

    /// Forces and services that can be funded, supported or fight.
    fn is_force(self) -> bool {
        matches!(
            self,
            EntityKind::ArmedForce
                | EntityKind::SecurityService
                | EntityKind::ArmedGroup
                | EntityKind::MilitaryCommand
        )
    }

    /// Actors: anything that can act (not places, events, laws or funds).
    fn is_actor(self) -> bool {
        matches!(
            self.class(),
            EntityClass::Organization | EntityClass::Person
        ) || self == EntityKind::Country
            || self == EntityKind::Region
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EntityKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EntityKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown entity kind `{s}`"))
    }
}

/// What a relation says, read `from → to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RelationKind {
    /// `from` is a part or member of `to`.
    PartOf,
    /// Person `from` holds `role` at `to`.
    HoldsPosition,
    /// Government `from` governs place `to`.
    Governs,
    /// Legislature `from` passed legislation `to`.
    Enacted,
    /// Legislation `from` provides fund `to` (amount, fiscal year).
    Authorizes,
    /// `from` gives money to `to` (amount, qualifier, fiscal year).
    Funds,
    /// `from` advises, assists or backs `to`.
    Supports,
    /// Actor `from` takes part in event `to`.
    ParticipatesIn,
    /// `from` and `to` are partners; read in both directions.
    CooperatesWith,
    /// Force `from` fights adversary `to`.
    Combats,
    /// `from` made a statement about `to`.
    Announced,
    /// Force or body `from` acts in place `to`.
    OperatesIn,
}

impl RelationKind {
    /// Every kind, in declaration order.
    pub const ALL: [RelationKind; 12] = [
        RelationKind::PartOf,
        RelationKind::HoldsPosition,
        RelationKind::Governs,
        RelationKind::Enacted,
        RelationKind::Authorizes,
        RelationKind::Funds,
        RelationKind::Supports,
        RelationKind::ParticipatesIn,
        RelationKind::CooperatesWith,
        RelationKind::Combats,
        RelationKind::Announced,
        RelationKind::OperatesIn,
    ];

    /// The API name (`HOLDS_POSITION`).
    pub fn as_str(self) -> &'static str {
        use RelationKind::*;
        match self {
            PartOf => "PART_OF",
            HoldsPosition => "HOLDS_POSITION",
            Governs => "GOVERNS",
            Enacted => "ENACTED",
            Authorizes => "AUTHORIZES",
            Funds => "FUNDS",
            Supports => "SUPPORTS",
            ParticipatesIn => "PARTICIPATES_IN",
            CooperatesWith => "COOPERATES_WITH",
            Combats => "COMBATS",
            Announced => "ANNOUNCED",
            OperatesIn => "OPERATES_IN",
        }
    }

    /// Whether money moves along this kind (funding flows follow these).
    pub fn carries_money(self) -> bool {
        matches!(self, RelationKind::Authorizes | RelationKind::Funds)
    }

    /// Whether a relation of this kind may go from an entity of kind `from`
    /// to one of kind `to`. This is the schema of the graph: the loader and
    /// every write refuse anything else.
    pub fn allows(self, from: EntityKind, to: EntityKind) -> bool {
        use EntityClass as C;
        use EntityKind as K;
        let (fc, tc) = (from.class(), to.class());
        match self {
            RelationKind::PartOf => match (fc, tc) {
                // A body or force belongs to a larger body, or to a place.
                (C::Organization, C::Organization) | (C::Organization, C::Place) => true,
                // A meeting is part of a round of talks.
                (C::Event, C::Event) => true,
                // A city lies in a region, a region in a country.
                (C::Place, C::Place) => from != to || from != K::Country,
                _ => false,
            },
            RelationKind::HoldsPosition => from == K::Person && from != to && to.is_body(),
            RelationKind::Governs => from == K::Government && tc == C::Place,
            RelationKind::Enacted => from == K::Legislature && to == K::Legislation,
            RelationKind::Authorizes => from == K::Legislation && to == K::Fund,
            RelationKind::Funds => {
                matches!(
                    from,
                    K::Fund | K::Legislation | K::Legislature | K::Government | K::Country
                ) && (to.is_body() || to == K::Fund || to == K::Person)
            }
            RelationKind::Supports => {
                (from.is_actor() || from == K::Legislation || from == K::Fund) && to.is_actor()
            }
            RelationKind::ParticipatesIn => from.is_actor() && to == K::Event,
            RelationKind::CooperatesWith => from.is_actor() && to.is_actor(),
            RelationKind::Combats => {
                (from.is_force() || from == K::Country || from == K::Region) && to.is_actor()
            }
            RelationKind::Announced => {
                (from.is_actor() || from == K::MediaOutlet) && (to == K::Event || to.is_actor())
            }
            RelationKind::OperatesIn => {
                (from.is_body() || from == K::Person || from == K::MediaOutlet) && tc == C::Place
            }
        }
    }
}

impl fmt::Display for RelationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RelationKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RelationKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown relation kind `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in EntityKind::ALL {
            assert_eq!(k.as_str().parse::<EntityKind>(), Ok(k));
            assert_eq!(serde_json::to_string(&k).ok(), Some(format!("\"{k}\"")));
        }
        for k in RelationKind::ALL {
            assert_eq!(k.as_str().parse::<RelationKind>(), Ok(k));
            assert_eq!(serde_json::to_string(&k).ok(), Some(format!("\"{k}\"")));
        }
        assert!("NOPE".parse::<EntityKind>().is_err());
    }

    #[test]
    fn allowed_pairs() {
        use EntityKind as K;
        use RelationKind as R;
        assert!(R::HoldsPosition.allows(K::Person, K::Ministry));
        assert!(!R::HoldsPosition.allows(K::Ministry, K::Person));
        assert!(R::Authorizes.allows(K::Legislation, K::Fund));
        assert!(!R::Authorizes.allows(K::Fund, K::Legislation));
        assert!(R::Funds.allows(K::Fund, K::ArmedForce));
        assert!(!R::Funds.allows(K::City, K::ArmedForce));
        assert!(R::PartOf.allows(K::ArmedForce, K::ArmedForce));
        assert!(R::PartOf.allows(K::Event, K::Event));
        assert!(!R::PartOf.allows(K::Person, K::Event));
        assert!(R::Governs.allows(K::Government, K::Region));
        assert!(!R::Governs.allows(K::Ministry, K::Region));
        assert!(R::ParticipatesIn.allows(K::Person, K::Event));
        assert!(!R::ParticipatesIn.allows(K::Event, K::Person));
    }
}
