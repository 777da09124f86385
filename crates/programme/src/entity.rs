//! The programme database's tables as sea-orm entities: the catalog of the Integration
//! Programme and the pseudonymous client core.

/// Divisions of the City that own responsible bodies.
pub mod division {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "divisions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Bodies responsible for measures.
pub mod responsible_body {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "responsible_bodies")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
        pub division_id: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The programme's four themes.
pub mod theme {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "themes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub title: String,
        pub title_fi: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The eleven sets of measures.
pub mod measure_set {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "measure_sets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub theme_id: i32,
        pub position: i32,
        pub title: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Groups of measures within a set that have objectives of their own (set 4).
pub mod objective_group {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "objective_groups")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub measure_set_id: String,
        pub title: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Objectives of a set (no group) or of a group within a set.
pub mod objective {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "objectives")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub measure_set_id: String,
        pub group_id: Option<String>,
        pub position: i32,
        pub text: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The 64 measures.
pub mod measure {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "measures")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub measure_set_id: String,
        pub group_id: Option<String>,
        pub position: i32,
        pub summary: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Which bodies are responsible for which measures.
pub mod measure_body {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "measure_bodies")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub measure_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub body_id: String,
        pub position: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Indicators of measures, groups, sets and of the programme as a whole.
pub mod indicator {
    use async_graphql::Enum;
    use sea_orm::entity::prelude::*;
    use serde::Deserialize;

    /// What an indicator measures.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Enum, Deserialize)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
    #[serde(rename_all = "snake_case")]
    pub enum IndicatorKind {
        #[sea_orm(string_value = "count")]
        Count,
        #[sea_orm(string_value = "percentage")]
        Percentage,
        /// Achieved: yes, no or partially.
        #[sea_orm(string_value = "yes_no_partially")]
        YesNoPartially,
        /// A thing that has or has not been done.
        #[sea_orm(string_value = "milestone")]
        Milestone,
        /// A breakdown followed over time.
        #[sea_orm(string_value = "series")]
        Series,
    }

    /// The part of the programme an indicator follows.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
    #[graphql(name = "IndicatorScope")]
    pub enum Scope {
        #[sea_orm(string_value = "measure")]
        Measure,
        #[sea_orm(string_value = "group")]
        ObjectiveGroup,
        #[sea_orm(string_value = "set")]
        MeasureSet,
        #[sea_orm(string_value = "programme")]
        Programme,
    }

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "indicators")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub scope: Scope,
        pub measure_id: Option<String>,
        pub measure_set_id: Option<String>,
        pub group_id: Option<String>,
        pub body_id: Option<String>,
        pub position: i32,
        pub text: String,
        pub kind: IndicatorKind,
        pub target: Option<f64>,
        /// Information sources, separated by "; ".
        pub sources: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The pseudonymous client core that every division's records point to. Names are
/// synthetic in the demo data; in production this table holds what the city's
/// pseudonymisation service hands over.
pub mod client {
    use async_graphql::Enum;
    use kotohub_subgraph::vocab::District;
    use sea_orm::entity::prelude::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
    pub enum Gender {
        #[sea_orm(string_value = "female")]
        Female,
        #[sea_orm(string_value = "male")]
        Male,
        #[sea_orm(string_value = "other")]
        Other,
    }

    /// Background in the sense of Statistics Finland, as the programme uses it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(24))")]
    pub enum Background {
        /// Foreign background, born abroad.
        #[sea_orm(string_value = "immigrant")]
        Immigrant,
        /// Foreign background, born in Finland.
        #[sea_orm(string_value = "second_generation")]
        SecondGeneration,
        #[sea_orm(string_value = "finnish_background")]
        FinnishBackground,
    }

    /// A client: a person who took part in at least one measure, known by a pseudonymous id.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, async_graphql::SimpleObject)]
    #[sea_orm(table_name = "clients")]
    #[graphql(name = "Client", complex)]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        #[graphql(skip)]
        pub id: String,
        pub name: String,
        pub birth_year: i32,
        pub gender: Gender,
        /// ISO 639-1 code.
        pub mother_tongue: String,
        pub district: District,
        pub background: Background,
        /// Year of arrival in Finland; none for those born here.
        pub arrival_year: Option<i32>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl kotohub_subgraph::batch::ClientRows for Entity {
        fn client_column() -> Column {
            Column::Id
        }
        fn client_id(model: &Model) -> &str {
            &model.id
        }
        fn order_column() -> Column {
            Column::Id
        }
        /// A body sees the clients it serves ([`super::client_body`]).
        fn scope_filter(bodies: &[String]) -> sea_orm::Condition {
            use sea_orm::sea_query::Query;
            let served = Query::select()
                .column(super::client_body::Column::ClientId)
                .from(super::client_body::Entity)
                .and_where(
                    super::client_body::Column::BodyId.is_in(bodies.iter().map(String::as_str)),
                )
                .to_owned();
            sea_orm::Condition::all().add(Column::Id.in_subquery(served))
        }
    }

    #[async_graphql::ComplexObject]
    impl Model {
        /// The client's pseudonymous id, the same in every division.
        async fn id(&self) -> async_graphql::ID {
            async_graphql::ID(self.id.clone())
        }
    }
}

/// Which responsible bodies serve which clients: a body serves a client when it has made
/// any record of the client (an enrolment, assessment, case, participation …) under a
/// measure. The divisions report these pairs to the programme; it is what lets the
/// programme subgraph show a body the core data of its own clients and of no others.
pub mod client_body {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "client_bodies")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub client_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub body_id: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
