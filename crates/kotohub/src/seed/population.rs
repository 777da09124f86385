//! The synthetic client population. Shares follow Helsinki's foreign-language-speaking
//! population as the design brief gives them: mother tongues (Russian ≈18 %, Somali and
//! Estonian ≈10 %, Arabic ≈8 %, English ≈6 %, Persian, Kurdish and Chinese ≈3 % each,
//! Vietnamese and Spanish ≈2.5 %, many others), the eight major districts with the
//! eastern ones over-represented, and the age structure of integration services' clients.
//! Names are invented from common given names and surnames of each language group.

use kotohub_programme::entity::client::{self, Background, EntryRoute, Gender};
use kotohub_subgraph::vocab::District;

use super::rng::Rng;

/// The year the ages are counted at.
pub const REFERENCE_YEAR: i32 = 2025;

/// A client as the generators of every division see them.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub birth_year: i32,
    pub gender: Gender,
    pub mother_tongue: &'static str,
    pub district: District,
    pub background: Background,
    pub arrival_year: Option<i32>,
    /// How an immigrant came to live in Finland; none for those born here.
    pub entry_route: Option<EntryRoute>,
    /// A refugee's resettlement in Helsinki, drawn with the households
    /// ([`super::families`]); none for everyone else.
    pub resettled: Option<super::families::Resettlement>,
}

impl Person {
    pub fn age(&self) -> i32 {
        REFERENCE_YEAR - self.birth_year
    }

    /// Age in a given year.
    pub fn age_in(&self, year: i32) -> i32 {
        year - self.birth_year
    }

    /// Speaks a language other than Finnish or Swedish as mother tongue (the programme's
    /// "foreign-language speaker").
    pub fn foreign_language(&self) -> bool {
        !matches!(self.mother_tongue, "fi" | "sv")
    }

    /// Arrived in Finland within `years` of `year`.
    pub fn recently_arrived(&self, year: i32, years: i32) -> bool {
        self.arrival_year
            .is_some_and(|arrived| arrived <= year && year - arrived <= years)
    }

    pub fn row(&self) -> client::ActiveModel {
        use sea_orm::ActiveValue::Set;
        client::ActiveModel {
            id: Set(self.id.clone()),
            name: Set(self.name.clone()),
            birth_year: Set(self.birth_year),
            gender: Set(self.gender),
            mother_tongue: Set(self.mother_tongue.to_owned()),
            district: Set(self.district),
            background: Set(self.background),
            arrival_year: Set(self.arrival_year),
            entry_route: Set(self.entry_route),
        }
    }
}

/// Mother tongues of clients with a foreign background, ISO 639-1, weights in percent.
pub const FOREIGN_TONGUES: &[(&str, f64)] = &[
    ("ru", 18.0),
    ("so", 10.0),
    ("et", 10.0),
    ("ar", 8.0),
    ("en", 6.0),
    ("fa", 3.0),
    ("ku", 3.0),
    ("zh", 3.0),
    ("uk", 3.0),
    ("vi", 2.5),
    ("es", 2.5),
    ("tr", 2.0),
    ("th", 2.0),
    ("fr", 2.0),
    ("de", 1.5),
    ("ti", 1.5),
    ("sq", 1.5),
    ("pl", 1.5),
    ("bn", 1.5),
    ("ne", 1.5),
    ("tl", 1.5),
    ("ro", 1.5),
    ("pt", 1.5),
    ("hi", 1.0),
    ("ur", 1.0),
    ("am", 1.0),
    ("sw", 1.0),
    ("it", 1.0),
    ("ps", 1.0),
    ("bg", 1.0),
];

/// Where clients live: foreign-language speakers concentrate in the eastern districts.
const DISTRICTS: &[(District, f64)] = &[
    (District::Etelainen, 9.0),
    (District::Lantinen, 12.0),
    (District::Keskinen, 9.0),
    (District::Pohjoinen, 5.0),
    (District::Koillinen, 19.0),
    (District::Kaakkoinen, 14.0),
    (District::Itainen, 31.0),
    (District::Ostersundom, 1.0),
];

/// Age bands of integration services' clients: children, young people, adults, seniors.
const AGE_BANDS: &[((i32, i32), f64)] = &[
    ((3, 6), 6.0),
    ((7, 15), 16.0),
    ((16, 29), 30.0),
    ((30, 64), 43.0),
    ((65, 85), 5.0),
];

struct Names {
    tongues: &'static [&'static str],
    female: &'static [&'static str],
    male: &'static [&'static str],
    surnames: &'static [&'static str],
}

const NAMES: &[Names] = &[
    Names {
        tongues: &["ru", "uk", "bg"],
        female: &["Anna", "Olga", "Irina", "Natalia", "Svetlana", "Daria"],
        male: &["Aleksei", "Dmitri", "Sergei", "Ivan", "Mikhail", "Andrei"],
        surnames: &[
            "Ivanov",
            "Petrov",
            "Smirnov",
            "Kuznetsov",
            "Popov",
            "Volkov",
            "Sokolov",
            "Morozov",
        ],
    },
    Names {
        tongues: &["so"],
        female: &["Hodan", "Fadumo", "Amina", "Sahra", "Ifrah", "Nimco"],
        male: &["Abdi", "Mohamed", "Ahmed", "Hassan", "Abdirahman", "Yusuf"],
        surnames: &[
            "Warsame",
            "Hussein",
            "Farah",
            "Abdullahi",
            "Osman",
            "Ali",
            "Jama",
            "Nur",
        ],
    },
    Names {
        tongues: &["et"],
        female: &["Kadri", "Liis", "Triin", "Kristiina", "Maarja", "Kerli"],
        male: &["Andres", "Tarmo", "Priit", "Margus", "Rasmus", "Kristjan"],
        surnames: &[
            "Tamm", "Saar", "Sepp", "Mägi", "Kask", "Kukk", "Rebane", "Ilves",
        ],
    },
    Names {
        tongues: &["ar", "ku", "tr"],
        female: &["Fatima", "Maryam", "Zainab", "Noor", "Layla", "Rania"],
        male: &["Omar", "Ali", "Karim", "Hussein", "Ahmad", "Yousef"],
        surnames: &[
            "Al-Hassan",
            "Haddad",
            "Saleh",
            "Khalil",
            "Mansour",
            "Aziz",
            "Rahman",
            "Barzani",
        ],
    },
    Names {
        tongues: &["fa", "ps", "ur", "hi", "bn", "ne"],
        female: &["Zahra", "Shirin", "Parisa", "Ayesha", "Priya", "Laleh"],
        male: &["Reza", "Amir", "Farid", "Arjun", "Imran", "Hamid"],
        surnames: &[
            "Ahmadi", "Hosseini", "Karimi", "Rezaei", "Khan", "Sharma", "Rahimi", "Gurung",
        ],
    },
    Names {
        tongues: &["zh"],
        female: &[
            "Li Na",
            "Wang Fang",
            "Zhang Min",
            "Liu Yan",
            "Chen Jing",
            "Yang Xue",
        ],
        male: &[
            "Wang Wei",
            "Li Qiang",
            "Zhang Lei",
            "Liu Yang",
            "Chen Jun",
            "Zhao Gang",
        ],
        surnames: &[
            "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao",
        ],
    },
    Names {
        tongues: &["vi", "th", "tl"],
        female: &["Linh", "Mai", "Somchai", "Maria", "Thu", "Nok"],
        male: &["Minh", "Duc", "Anan", "Jose", "Tuan", "Kiet"],
        surnames: &[
            "Nguyen", "Tran", "Le", "Pham", "Santos", "Reyes", "Srisuk", "Vo",
        ],
    },
    Names {
        tongues: &["ti", "am", "sw"],
        female: &["Selam", "Hiwot", "Meron", "Amani", "Saba", "Eden"],
        male: &["Yonas", "Dawit", "Tesfaye", "Baraka", "Samuel", "Kidane"],
        surnames: &[
            "Tesfay",
            "Gebremedhin",
            "Haile",
            "Bekele",
            "Mwangi",
            "Kahsay",
            "Alemu",
            "Tekle",
        ],
    },
    Names {
        tongues: &["fi"],
        female: &["Aino", "Helmi", "Sanna", "Laura", "Emilia", "Johanna"],
        male: &["Juha", "Mikko", "Eino", "Antti", "Ville", "Onni"],
        surnames: &[
            "Korhonen",
            "Virtanen",
            "Mäkinen",
            "Nieminen",
            "Hämäläinen",
            "Laine",
            "Heikkinen",
            "Koskinen",
        ],
    },
    Names {
        tongues: &["sv"],
        female: &["Ebba", "Linnea", "Saga", "Ida", "Alva", "Wilma"],
        male: &["Oskar", "Elias", "Axel", "Leo", "Hugo", "Anton"],
        surnames: &[
            "Lindholm",
            "Nyström",
            "Forsström",
            "Lindqvist",
            "Holmberg",
            "Sjöberg",
            "Ekholm",
            "Grönroos",
        ],
    },
];

/// Names for the other groups (English, Spanish, French, German, Polish, Albanian …).
const OTHER_NAMES: Names = Names {
    tongues: &[],
    female: &["Sarah", "Elena", "Sofia", "Julia", "Ana", "Marta"],
    male: &["David", "Daniel", "Lucas", "Marco", "Tomasz", "Arben"],
    surnames: &[
        "Smith", "Garcia", "Martin", "Müller", "Nowak", "Rossi", "Krasniqi", "Silva",
    ],
};

fn names_for(tongue: &str) -> &'static Names {
    NAMES
        .iter()
        .find(|names| names.tongues.contains(&tongue))
        .unwrap_or(&OTHER_NAMES)
}

/// The `n`-th client's pseudonymous id.
pub fn client_id(n: u32) -> String {
    format!("c{:07}", n + 1)
}

/// Entry routes by mother tongue, weights in percent: refugees and their families among
/// the languages of the quota and asylum countries, free movement among EU languages,
/// work, studies and families elsewhere.
fn entry_routes(tongue: &str) -> &'static [(EntryRoute, f64)] {
    use EntryRoute::*;
    match tongue {
        "so" | "ar" | "fa" | "ku" | "ti" | "ps" | "am" => &[
            (QuotaRefugee, 20.0),
            (AsylumSeeker, 15.0),
            (MunicipalPlacement, 25.0),
            (FamilyReunification, 35.0),
            (Work, 3.0),
            (Study, 2.0),
        ],
        "et" | "pl" | "ro" | "bg" | "de" | "it" => {
            &[(EuCitizen, 85.0), (Work, 10.0), (FamilyReunification, 5.0)]
        }
        "es" | "pt" | "fr" => &[
            (EuCitizen, 45.0),
            (Work, 25.0),
            (Study, 15.0),
            (FamilyReunification, 15.0),
        ],
        "ru" => &[
            (FamilyReunification, 40.0),
            (Work, 30.0),
            (Study, 10.0),
            (Other, 15.0),
            (EuCitizen, 5.0),
        ],
        // Temporary protection since 2022 is "other" here.
        "uk" => &[(Other, 45.0), (Work, 30.0), (FamilyReunification, 25.0)],
        _ => &[
            (Work, 40.0),
            (Study, 25.0),
            (FamilyReunification, 30.0),
            (Other, 5.0),
        ],
    }
}

/// Generates `count` clients, the same ones for the same seed.
pub fn generate(seed: u64, count: u32) -> Vec<Person> {
    let mut rng = Rng::new(seed, "population");
    // A stream of its own, so that the rest of the population is what it was before
    // entry routes were drawn.
    let mut routes = Rng::new(seed, "entry-routes");
    (0..count)
        .map(|n| {
            let background = *rng.weighted(&[
                (Background::Immigrant, 78.0),
                (Background::SecondGeneration, 17.0),
                (Background::FinnishBackground, 5.0),
            ]);
            let mother_tongue = match background {
                Background::FinnishBackground => *rng.weighted(&[("fi", 90.0), ("sv", 10.0)]),
                _ => *rng.weighted(FOREIGN_TONGUES),
            };
            let (low, high) = *rng.weighted(AGE_BANDS);
            let age = rng.between(low, high);
            let birth_year = REFERENCE_YEAR - age;
            let arrival_year = (background == Background::Immigrant).then(|| {
                // Most clients of integration services arrived within the last decade.
                let years_ago = if rng.chance(0.75) {
                    rng.between(0, 9)
                } else {
                    rng.between(10, 30)
                };
                (REFERENCE_YEAR - years_ago).max(birth_year)
            });
            let gender = *rng.weighted(&[
                (Gender::Female, 50.0),
                (Gender::Male, 49.0),
                (Gender::Other, 1.0),
            ]);
            let names = names_for(mother_tongue);
            let given = match gender {
                Gender::Female => rng.pick(names.female),
                Gender::Male => rng.pick(names.male),
                Gender::Other => {
                    if rng.chance(0.5) {
                        rng.pick(names.female)
                    } else {
                        rng.pick(names.male)
                    }
                }
            };
            Person {
                id: client_id(n),
                name: format!("{given} {}", rng.pick(names.surnames)),
                birth_year,
                gender,
                mother_tongue,
                district: *rng.weighted(DISTRICTS),
                background,
                arrival_year,
                entry_route: arrival_year.map(|_| *routes.weighted(entry_routes(mother_tongue))),
                resettled: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_people() {
        let a = generate(11, 200);
        let b = generate(11, 200);
        assert_eq!(
            a.iter().map(|p| &p.name).collect::<Vec<_>>(),
            b.iter().map(|p| &p.name).collect::<Vec<_>>()
        );
        assert_ne!(
            a.iter().map(|p| &p.name).collect::<Vec<_>>(),
            generate(12, 200)
                .iter()
                .map(|p| &p.name)
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn shares_follow_the_city() {
        let people = generate(2017, 20_000);
        let share = |f: &dyn Fn(&Person) -> bool| {
            people.iter().filter(|p| f(p)).count() as f64 / people.len() as f64
        };
        let foreign = share(&|p| p.foreign_language());
        let russian = share(&|p| p.mother_tongue == "ru") / foreign;
        let somali = share(&|p| p.mother_tongue == "so") / foreign;
        assert!((0.16..0.20).contains(&russian), "{russian}");
        assert!((0.08..0.12).contains(&somali), "{somali}");
        let itainen = share(&|p| p.district == District::Itainen);
        let ostersundom = share(&|p| p.district == District::Ostersundom);
        assert!(itainen > 0.25 && ostersundom < 0.03);
        assert!(
            people
                .iter()
                .all(|p| p.arrival_year.is_none_or(|a| a >= p.birth_year))
        );
        assert!(
            people
                .iter()
                .all(|p| (p.background == Background::Immigrant) == p.arrival_year.is_some())
        );
    }

    #[test]
    fn immigrants_and_only_they_came_by_a_route_their_language_makes_likely() {
        let people = generate(2017, 20_000);
        assert!(
            people
                .iter()
                .all(|p| p.entry_route.is_some() == p.arrival_year.is_some())
        );
        let share_of = |tongues: &[&str], route: EntryRoute| {
            let speakers: Vec<&Person> = people
                .iter()
                .filter(|p| p.entry_route.is_some() && tongues.contains(&p.mother_tongue))
                .collect();
            speakers
                .iter()
                .filter(|p| p.entry_route == Some(route))
                .count() as f64
                / speakers.len() as f64
        };
        let refugee_tongues = ["so", "ar", "fa", "ku"];
        let quota = share_of(&refugee_tongues, EntryRoute::QuotaRefugee);
        assert!((0.16..0.24).contains(&quota), "{quota}");
        let eu = share_of(&["et"], EntryRoute::EuCitizen);
        assert!((0.80..0.90).contains(&eu), "{eu}");
        assert_eq!(share_of(&["et"], EntryRoute::QuotaRefugee), 0.0);
    }
}
