//! The Finnish personal identity code (henkilötunnus) in imported files, the first step of
//! an import row: the code is checked in full and turned into the client's pseudonymous
//! id with a keyed hash, and goes no further. The clear code is never stored, logged,
//! traced or put in an error: [`Invalid`] says what is wrong with a code without
//! repeating it, and [`Pseudonymiser`] holds only the key.
//!
//! The format (Digital and Population Data Services Agency): `DDMMYY` (date of birth),
//! a century sign, a three-digit individual number and a check character, which is the
//! nine digits of date and individual number taken as one number, modulo 31, looked up in
//! `0123456789ABCDEFHJKLMNPRSTUVWXY`. Since 2023 the 1900s also have the signs
//! `Y X W V U` beside `-`, and the 2000s `B C D E F` beside `A`.

use chrono::NaiveDate;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The check characters, by remainder.
const CHECK_CHARACTERS: &[u8; 31] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";

/// Why an identity code is not one. The messages never contain the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error(
        "an identity code has 11 characters: DDMMYY, a century sign, three digits and a check character"
    )]
    Shape,
    #[error("the century sign is not one of + - Y X W V U A B C D E F")]
    CenturySign,
    #[error("the date of birth is not a date")]
    Date,
    #[error("the date of birth is in the future")]
    FutureDate,
    #[error("the individual number is not between 002 and 899 (900–999 are temporary codes)")]
    IndividualNumber,
    #[error("the check character does not match the rest of the code")]
    CheckCharacter,
}

/// The century a sign stands for.
fn century(sign: u8) -> Option<i32> {
    match sign {
        b'+' => Some(1800),
        b'-' | b'Y' | b'X' | b'W' | b'V' | b'U' => Some(1900),
        b'A' | b'B' | b'C' | b'D' | b'E' | b'F' => Some(2000),
        _ => None,
    }
}

/// An identity code that passed every check.
#[derive(PartialEq, Eq)]
pub struct Checked {
    /// The code as it is hashed: surrounding spaces dropped, letters in capitals.
    code: String,
    pub born: NaiveDate,
}

impl std::fmt::Debug for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checked")
            .field("code", &"<identity code>")
            .field("born", &self.born)
            .finish()
    }
}

/// `code` checked in full against `today` (no one imported is born later).
pub fn check(code: &str, today: NaiveDate) -> Result<Checked, Invalid> {
    let code = code.trim().to_ascii_uppercase();
    let bytes = code.as_bytes();
    if bytes.len() != 11 {
        return Err(Invalid::Shape);
    }
    let digits = |range: std::ops::Range<usize>| -> Result<u32, Invalid> {
        let part = &bytes[range];
        if !part.iter().all(u8::is_ascii_digit) {
            return Err(Invalid::Shape);
        }
        Ok(part.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let (day, month, year) = (digits(0..2)?, digits(2..4)?, digits(4..6)?);
    let individual = digits(7..10)?;
    let century = century(bytes[6]).ok_or(Invalid::CenturySign)?;
    let year = century + i32::try_from(year).map_err(|_| Invalid::Date)?;
    let born = NaiveDate::from_ymd_opt(year, month, day).ok_or(Invalid::Date)?;
    // A mistyped code is told as such before what the code would mean is judged.
    let number = (day * 10_000 + month * 100 + digits(4..6)?) * 1000 + individual;
    let expected = CHECK_CHARACTERS[(number % 31) as usize];
    if bytes[10] != expected {
        return Err(Invalid::CheckCharacter);
    }
    if born > today {
        return Err(Invalid::FutureDate);
    }
    if !(2..=899).contains(&individual) {
        return Err(Invalid::IndividualNumber);
    }
    Ok(Checked { code, born })
}

/// A client as an identity code makes it known: the pseudonymous id and the date of
/// birth the code carries (the hub keeps only the year).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identified {
    pub client_id: String,
    pub born: NaiveDate,
}

/// Turns identity codes into client ids: HMAC-SHA-256 of the checked code under a key
/// held like the hub's other secrets (configured, or a key file under the data
/// directory), never in a database. The same code gives the same id on every import, and
/// without the key no one can go from an id back to a code by trying codes.
pub struct Pseudonymiser {
    key: Vec<u8>,
}

impl std::fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymiser { key: <secret> }")
    }
}

impl Pseudonymiser {
    pub fn new(secret: &str) -> Self {
        Self {
            key: secret.as_bytes().to_vec(),
        }
    }

    /// The client `code` names, or why `code` is no identity code.
    pub fn identify(&self, code: &str, today: NaiveDate) -> Result<Identified, Invalid> {
        let checked = check(code, today)?;
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes a key of any length");
        mac.update(checked.code.as_bytes());
        let digest = mac.finalize().into_bytes();
        // 124 bits: no two of a city's people meet, and with its `p` the id fills the
        // 32 characters every table keeps a client id in.
        let mut id = String::with_capacity(32);
        id.push('p');
        for byte in &digest[..16] {
            id.push_str(&format!("{byte:02x}"));
        }
        id.truncate(32);
        Ok(Identified {
            client_id: id,
            born: checked.born,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 7).expect("a date")
    }

    /// A valid code for the date part, sign and individual number, its check character
    /// computed here the way the register does.
    fn valid(date: &str, sign: char, individual: &str) -> String {
        let number: u32 = format!("{date}{individual}").parse().expect("digits");
        let check = CHECK_CHARACTERS[(number % 31) as usize] as char;
        format!("{date}{sign}{individual}{check}")
    }

    /// The code `check` would hash, or its error.
    fn checked(code: &str) -> Result<String, Invalid> {
        check(code, today()).map(|checked| checked.code)
    }

    #[test]
    fn the_registers_published_example_is_valid() {
        assert_eq!(checked("131052-308T"), Ok("131052-308T".to_owned()));
        let born = check("131052-308T", today()).expect("valid").born;
        assert_eq!(born, NaiveDate::from_ymd_opt(1952, 10, 13).expect("a date"));
    }

    #[test]
    fn the_registers_examples_of_the_2023_signs_are_temporary_codes() {
        // Published with individual numbers of the temporary range, so that they are no
        // one's: every other part checks out.
        for code in [
            "010594Y9021",
            "020594X903P",
            "030594W903B",
            "040594V9030",
            "050594U903M",
            "010516B903X",
            "020516C903K",
            "030516D9037",
        ] {
            assert_eq!(
                check(code, today()),
                Err(Invalid::IndividualNumber),
                "{code}"
            );
        }
    }

    #[test]
    fn every_century_sign_gives_its_century() {
        for sign in ['-', 'Y', 'X', 'W', 'V', 'U'] {
            let code = valid("150945", sign, "123");
            assert!(check(&code, today()).is_ok(), "{sign}: 1945");
        }
        for sign in ['A', 'B', 'C', 'D', 'E', 'F'] {
            let code = valid("150915", sign, "123");
            assert!(check(&code, today()).is_ok(), "{sign}: 2015");
        }
        assert!(
            check(&valid("150899", '+', "123"), today()).is_ok(),
            "+: 1899"
        );
    }

    #[test]
    fn a_sign_that_is_no_century_is_refused() {
        let code = valid("150945", 'G', "123");
        assert_eq!(check(&code, today()), Err(Invalid::CenturySign));
    }

    #[test]
    fn a_wrong_check_character_is_refused() {
        assert_eq!(check("131052-308U", today()), Err(Invalid::CheckCharacter));
    }

    #[test]
    fn dates_that_do_not_exist_are_refused() {
        // 29 February of a year that is not a leap year, and of one that is.
        assert_eq!(
            check(&valid("290223", 'A', "123"), today()),
            Err(Invalid::Date)
        );
        assert!(check(&valid("290224", 'A', "123"), today()).is_ok());
        // 1900 was not a leap year; 2000 was.
        assert_eq!(
            check(&valid("290200", '-', "123"), today()),
            Err(Invalid::Date)
        );
        assert!(check(&valid("290200", 'A', "123"), today()).is_ok());
        assert_eq!(
            check(&valid("321099", '-', "123"), today()),
            Err(Invalid::Date)
        );
        assert_eq!(
            check(&valid("011399", '-', "123"), today()),
            Err(Invalid::Date)
        );
    }

    #[test]
    fn a_birth_after_today_is_refused() {
        assert_eq!(
            check(&valid("081226", 'A', "123"), today()),
            Err(Invalid::FutureDate)
        );
    }

    #[test]
    fn temporary_and_unused_individual_numbers_are_refused() {
        for individual in ["000", "001", "900", "999"] {
            let code = valid("150945", '-', individual);
            assert_eq!(
                check(&code, today()),
                Err(Invalid::IndividualNumber),
                "{individual}"
            );
        }
    }

    #[test]
    fn malformed_codes_are_refused_by_shape() {
        for code in [
            "",
            "131052-308",
            "131052-308TT",
            "13105X-308T",
            "131052-3O8T",
        ] {
            assert_eq!(check(code, today()), Err(Invalid::Shape), "{code:?}");
        }
    }

    #[test]
    fn spaces_and_small_letters_are_the_same_code() {
        assert_eq!(checked(" 131052-308t "), Ok("131052-308T".to_owned()));
    }

    #[test]
    fn no_error_repeats_the_code() {
        let code = "131052-308U";
        let message = check(code, today()).expect_err("wrong check").to_string();
        assert!(!message.contains("131052"), "{message}");
    }

    #[test]
    fn the_same_code_is_the_same_client_under_one_key_only() {
        let one = Pseudonymiser::new("key-one-0123456789-0123456789-01");
        let other = Pseudonymiser::new("key-two-0123456789-0123456789-01");
        let id = |p: &Pseudonymiser, code: &str| p.identify(code, today()).map(|i| i.client_id);
        let first = id(&one, "131052-308T").expect("valid");
        assert_eq!(first, id(&one, " 131052-308t").expect("valid"));
        assert_ne!(first, id(&other, "131052-308T").expect("valid"));
        assert_eq!(first.len(), 32);
        assert!(!first.contains("131052"));
        assert_eq!(id(&one, "131052-308U"), Err(Invalid::CheckCharacter));
    }

    #[test]
    fn a_checked_code_is_not_printed() {
        let checked = check("131052-308T", today()).expect("valid");
        assert!(!format!("{checked:?}").contains("308T"));
    }

    #[test]
    fn the_key_is_not_printed() {
        let pseudonymiser = Pseudonymiser::new("very-secret-key-0123456789-abcdef");
        assert!(!format!("{pseudonymiser:?}").contains("very-secret"));
    }
}
