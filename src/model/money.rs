//! Exact money amounts and how they read in plain words.

use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How exact a stated amount is; the source's own hedge ("more than").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AmountQualifier {
    /// The amount as stated.
    #[default]
    Exact,
    /// At least this much ("more than $213 million").
    AtLeast,
    /// At most this much ("up to").
    AtMost,
    /// Roughly this much ("about").
    Approximate,
}

impl AmountQualifier {
    /// The API name (`AT_LEAST`).
    pub fn as_str(self) -> &'static str {
        match self {
            AmountQualifier::Exact => "EXACT",
            AmountQualifier::AtLeast => "AT_LEAST",
            AmountQualifier::AtMost => "AT_MOST",
            AmountQualifier::Approximate => "APPROXIMATE",
        }
    }

    /// The words put before the figure when it is read out.
    fn lead(self) -> &'static str {
        match self {
            AmountQualifier::Exact => "",
            // The contract reads AT_LEAST as the article's own "more than".
            AmountQualifier::AtLeast => "more than ",
            AmountQualifier::AtMost => "up to ",
            AmountQualifier::Approximate => "about ",
        }
    }
}

fn default_currency() -> CompactString {
    CompactString::const_new(Money::DEFAULT_CURRENCY)
}

/// An amount of money in whole currency units, exact: $925 billion is
/// `925_000_000_000`, never a float.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// Whole units of `currency`. Signed so that a negative figure in a data
    /// file can be reported as such rather than as a parse failure.
    pub amount: i64,
    /// ISO 4217 code; USD unless stated.
    #[serde(default = "default_currency")]
    pub currency: CompactString,
    /// How exact the source is about it.
    #[serde(default)]
    pub qualifier: AmountQualifier,
}

impl Money {
    /// The currency of an amount that names none: the sources are American
    /// budget documents and reporting on them.
    pub const DEFAULT_CURRENCY: &'static str = "USD";

    /// An exact amount in US dollars.
    pub fn usd(amount: i64) -> Self {
        Money {
            amount,
            currency: default_currency(),
            qualifier: AmountQualifier::Exact,
        }
    }

    /// The same amount with another qualifier.
    pub fn qualified(mut self, qualifier: AmountQualifier) -> Self {
        self.qualifier = qualifier;
        self
    }

    /// Whether `code` has the shape of an ISO 4217 currency code: three
    /// capital letters ("USD").
    pub fn is_currency_code(code: &str) -> bool {
        code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
    }

    /// Checks the amount is not negative and the currency is a three-letter code.
    pub fn validate(&self) -> Result<(), String> {
        if self.amount < 0 {
            return Err(format!("amount {} is negative", self.amount));
        }
        if !Money::is_currency_code(&self.currency) {
            return Err(format!(
                "currency `{}` is not a three-letter ISO 4217 code",
                self.currency
            ));
        }
        Ok(())
    }

    /// The amount in plain words: "more than $213 million", "$925 billion",
    /// "$1.5 million", "$12,500", "EUR 3 million".
    pub fn display(&self) -> String {
        let figure = scaled(self.amount);
        let money = if self.currency == Money::DEFAULT_CURRENCY {
            format!("${figure}")
        } else {
            format!("{} {figure}", self.currency)
        };
        format!("{}{money}", self.qualifier.lead())
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

/// "925 billion", "1.25 million", "12,500": whole millions and above are
/// named, with as many decimals as the exact figure needs.
fn scaled(amount: i64) -> String {
    const SCALES: [(i64, &str); 3] = [
        (1_000_000_000_000, "trillion"),
        (1_000_000_000, "billion"),
        (1_000_000, "million"),
    ];
    for (unit, word) in SCALES {
        if amount.unsigned_abs() >= unit.unsigned_abs() {
            let whole = amount / unit;
            let rest = (amount % unit).unsigned_abs();
            if rest == 0 {
                return format!("{whole} {word}");
            }
            let width = unit.to_string().len() - 1;
            let frac = format!("{rest:0width$}");
            let frac = frac.trim_end_matches('0');
            return format!("{whole}.{frac} {word}");
        }
    }
    grouped(amount)
}

/// Thousands separated by commas: 12500 → "12,500".
fn grouped(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if amount < 0 {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_in_plain_words() {
        assert_eq!(
            Money::usd(213_000_000)
                .qualified(AmountQualifier::AtLeast)
                .display(),
            "more than $213 million"
        );
        assert_eq!(Money::usd(925_000_000_000).display(), "$925 billion");
        assert_eq!(Money::usd(358_000_000).display(), "$358 million");
        assert_eq!(Money::usd(1_500_000).display(), "$1.5 million");
        assert_eq!(Money::usd(1_250_000_000).display(), "$1.25 billion");
        assert_eq!(Money::usd(12_500).display(), "$12,500");
        assert_eq!(Money::usd(999).display(), "$999");
        assert_eq!(Money::usd(0).display(), "$0");
        assert_eq!(
            Money::usd(5_000_000)
                .qualified(AmountQualifier::Approximate)
                .display(),
            "about $5 million"
        );
        let eur = Money {
            amount: 3_000_000,
            currency: "EUR".into(),
            qualifier: AmountQualifier::AtMost,
        };
        assert_eq!(eur.display(), "up to EUR 3 million");
    }

    #[test]
    fn validation() {
        assert!(Money::usd(1).validate().is_ok());
        assert!(Money::usd(-1).validate().is_err());
        let bad = Money {
            currency: "dollars".into(),
            ..Money::usd(1)
        };
        assert!(bad.validate().is_err());
    }
}
