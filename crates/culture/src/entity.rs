//! The Culture and Leisure Division's tables, as sea-orm entities that are also the
//! GraphQL types the subgraph returns.

pub mod participation {
    use async_graphql::Enum;
    use kotohub_subgraph::client_record;
    use sea_orm::entity::prelude::*;

    /// The kind of activity a client took part in.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
    pub enum Activity {
        /// A cultural or leisure event promoting encounters (measure 7.1).
        #[sea_orm(string_value = "event")]
        Event,
        /// An art workshop or sculpture tour (HAM, Annantalo; measure 7.3).
        #[sea_orm(string_value = "art_workshop")]
        ArtWorkshop,
        /// A museum workshop supporting language training (measure 7.4).
        #[sea_orm(string_value = "museum_workshop")]
        MuseumWorkshop,
        /// Mother-tongue reading activity at a library (measure 7.5).
        #[sea_orm(string_value = "reading_circle")]
        ReadingCircle,
        #[sea_orm(string_value = "sports_group")]
        SportsGroup,
        /// Grass-roots multicultural youth work (measure 10.3).
        #[sea_orm(string_value = "youth_work")]
        YouthWork,
    }

    /// A client's participation in an event or a group.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, async_graphql::SimpleObject)]
    #[sea_orm(table_name = "participations")]
    #[graphql(name = "Participation", complex, tag = "class:personal")]
    pub struct Model {
        #[sea_orm(primary_key)]
        #[graphql(skip)]
        pub id: i64,
        #[graphql(skip)]
        pub client_id: String,
        #[graphql(skip)]
        pub measure_id: String,
        #[graphql(skip)]
        pub body_id: String,
        #[graphql(skip)]
        pub event_id: Option<i64>,
        pub activity: Activity,
        pub participated_on: Date,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    client_record!(Entity);
    kotohub_subgraph::client_record_fields!(Model {
        /// The event taken part in, when the participation was in an event.
        async fn event(
            &self,
            ctx: &async_graphql::Context<'_>,
        ) -> async_graphql::Result<Option<crate::entity::cultural_event::Model>> {
            let Some(event_id) = self.event_id else {
                return Ok(None);
            };
            kotohub_subgraph::records::by_id::<crate::entity::cultural_event::Entity>(ctx, event_id)
                .await
        }
    });
}

pub mod culture_outcome {
    use async_graphql::Enum;
    use kotohub_subgraph::client_record;
    use sea_orm::entity::prelude::*;

    /// What taking part led to.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
    pub enum CultureOutcomeKind {
        /// Took up a regular hobby (the programme-level hobby indicator).
        #[sea_orm(string_value = "hobby_started")]
        HobbyStarted,
        #[sea_orm(string_value = "library_card")]
        LibraryCard,
        /// Kept coming to the group after its first season.
        #[sea_orm(string_value = "group_continued")]
        GroupContinued,
        #[sea_orm(string_value = "volunteering")]
        Volunteering,
    }

    /// An outcome recorded for a participant.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, async_graphql::SimpleObject)]
    #[sea_orm(table_name = "culture_outcomes")]
    #[graphql(name = "CultureOutcome", complex, tag = "class:personal")]
    pub struct Model {
        #[sea_orm(primary_key)]
        #[graphql(skip)]
        pub id: i64,
        #[graphql(skip)]
        pub client_id: String,
        #[graphql(skip)]
        pub measure_id: String,
        #[graphql(skip)]
        pub body_id: String,
        pub kind: CultureOutcomeKind,
        pub occurred_on: Date,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    client_record!(Entity);
    kotohub_subgraph::client_record_fields!(Model {});
}

pub mod cultural_event {
    kotohub_subgraph::event_entity!("cultural_events", "CulturalEvent");
}
