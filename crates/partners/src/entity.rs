//! The partner organisations' tables, as sea-orm entities that are also the GraphQL
//! types the subgraph returns: sponsor groups and their sponsors, the refugees each group
//! supports, "How are you" discussions, and trainings and activities.

pub mod sponsor_group {
    use sea_orm::entity::prelude::*;

    /// A community sponsor group: volunteers in a municipality receiving quota refugees,
    /// recruited and trained by a partner (the Red Cross) to support the refugees placed
    /// there (seed 004).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, async_graphql::SimpleObject)]
    #[sea_orm(table_name = "sponsor_groups")]
    #[graphql(name = "SponsorGroup", complex, tag = "class:operational")]
    pub struct Model {
        #[sea_orm(primary_key)]
        #[graphql(skip)]
        pub id: i64,
        #[graphql(skip)]
        pub measure_id: String,
        #[graphql(skip)]
        pub body_id: String,
        pub name: String,
        pub municipality: String,
        pub formed_on: Date,
        /// When the group stopped; none while it is active.
        pub ended_on: Option<Date>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    kotohub_subgraph::measure_record!(Entity);
}

pub mod sponsor {
    use sea_orm::entity::prelude::*;

    /// A community sponsor: a volunteer in a group. Known by id only: who the volunteer
    /// is stays with the organisation that recruited them.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, async_graphql::SimpleObject)]
    #[sea_orm(table_name = "sponsors")]
    #[graphql(name = "Sponsor", complex, tag = "class:personal")]
    pub struct Model {
        #[sea_orm(primary_key)]
        #[graphql(skip)]
        pub id: i64,
        #[graphql(skip)]
        pub measure_id: String,
        #[graphql(skip)]
        pub body_id: String,
        #[graphql(skip)]
        pub group_id: i64,
        pub joined_on: Date,
        /// When the sponsor completed the sponsor training; none before.
        pub trained_on: Option<Date>,
        pub left_on: Option<Date>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    kotohub_subgraph::measure_record!(Entity);
}

pub mod sponsorship {
    use kotohub_subgraph::client_record;
    use sea_orm::entity::prelude::*;

    /// A sponsor group's support of one refugee: from arrival in the municipality until
    /// the group or the refugee ends it.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, async_graphql::SimpleObject)]
    #[sea_orm(table_name = "sponsorships")]
    #[graphql(name = "Sponsorship", complex, tag = "class:personal")]
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
        pub group_id: i64,
        pub started_on: Date,
        pub ended_on: Option<Date>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    client_record!(Entity);
    kotohub_subgraph::client_record_fields!(Model {
        /// The sponsor group giving the support.
        async fn group(
            &self,
            ctx: &async_graphql::Context<'_>,
        ) -> async_graphql::Result<Option<crate::entity::sponsor_group::Model>> {
            kotohub_subgraph::records::by_id::<crate::entity::sponsor_group::Entity>(
                ctx,
                self.group_id,
            )
            .await
        }
    });
}

pub mod wellbeing_discussion {
    use kotohub_subgraph::client_record;
    use sea_orm::entity::prelude::*;

    /// A "How are you" discussion (seed 004): everyday life talked through on a set
    /// framework, each question answered only if the person chooses to. What it records
    /// are the two answers the project's first goal is followed by; none where the person
    /// left the question unanswered.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, async_graphql::SimpleObject)]
    #[sea_orm(table_name = "wellbeing_discussions")]
    #[graphql(name = "WellbeingDiscussion", complex, tag = "class:personal")]
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
        pub held_on: Date,
        /// The language the discussion was held in (ISO 639-1).
        pub language: String,
        /// "I feel welcome in the activities."
        pub feels_welcome: Option<bool>,
        /// Takes part in activities of local communities.
        pub takes_part_in_activities: Option<bool>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    client_record!(Entity);
    kotohub_subgraph::client_record_fields!(Model {});
}

pub mod partner_event {
    kotohub_subgraph::event_entity!("partner_events", "PartnerEvent");
}
