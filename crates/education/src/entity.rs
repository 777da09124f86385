//! The Education Division's tables, as sea-orm entities that are also the GraphQL types
//! the subgraph returns.

pub mod enrolment {
    use async_graphql::Enum;
    use kotohub_subgraph::client_record;
    use kotohub_subgraph::vocab::RecordStatus;
    use sea_orm::entity::prelude::*;

    /// The kinds of instruction the Development Plan for Immigrant Education follows.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
    pub enum StudyProgramme {
        /// Finnish or Swedish as a second language (S2).
        #[sea_orm(string_value = "s2")]
        S2,
        /// Preparatory instruction for basic education.
        #[sea_orm(string_value = "preparatory")]
        Preparatory,
        /// Finnish and Swedish courses for stay-at-home parents (measure 4.10).
        #[sea_orm(string_value = "parents_language_course")]
        ParentsLanguageCourse,
        /// Homework help and other informal learning support (measure 4.7).
        #[sea_orm(string_value = "homework_help")]
        HomeworkHelp,
        /// Early childhood education (measure 4.6).
        #[sea_orm(string_value = "early_childhood")]
        EarlyChildhood,
        /// Instruction in the learner's own mother tongue.
        #[sea_orm(string_value = "mother_tongue")]
        MotherTongue,
        /// Vocational education, including apprenticeships (measure 4.23).
        #[sea_orm(string_value = "vocational")]
        Vocational,
        /// Basic education for adults.
        #[sea_orm(string_value = "adult_basic")]
        AdultBasic,
    }

    /// A client's enrolment in a study programme.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, async_graphql::SimpleObject)]
    #[sea_orm(table_name = "enrolments")]
    #[graphql(name = "Enrolment", complex, tag = "class:personal")]
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
        pub programme: StudyProgramme,
        pub started_on: Date,
        pub ended_on: Option<Date>,
        pub status: RecordStatus,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    client_record!(Entity);
    kotohub_subgraph::client_record_fields!(Model {});
}

pub mod joint_application_result {
    use async_graphql::Enum;
    use kotohub_subgraph::client_record;
    use kotohub_subgraph::vocab::District;
    use sea_orm::entity::prelude::*;

    /// The result of a joint application to secondary education.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
    pub enum ApplicationResult {
        #[sea_orm(string_value = "accepted")]
        Accepted,
        #[sea_orm(string_value = "not_accepted")]
        NotAccepted,
        /// Offered a place but did not take it.
        #[sea_orm(string_value = "declined")]
        Declined,
    }

    /// A client's joint-application result (the programme's indicator of those not
    /// accepted, by comprehensive school location and mother tongue).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, async_graphql::SimpleObject)]
    #[sea_orm(table_name = "joint_application_results")]
    #[graphql(name = "JointApplicationResult", complex, tag = "class:personal")]
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
        pub year: i32,
        /// District of the comprehensive school the applicant finished.
        pub school_district: District,
        pub result: ApplicationResult,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    client_record!(Entity);
    kotohub_subgraph::client_record_fields!(Model {});
}

pub mod qualification {
    use async_graphql::Enum;
    use kotohub_subgraph::client_record;
    use sea_orm::entity::prelude::*;

    /// Qualifications the education indicators follow.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
    pub enum QualificationKind {
        #[sea_orm(string_value = "basic_education")]
        BasicEducation,
        #[sea_orm(string_value = "general_upper_secondary")]
        GeneralUpperSecondary,
        #[sea_orm(string_value = "vocational")]
        Vocational,
        #[sea_orm(string_value = "partial_vocational")]
        PartialVocational,
        /// A National Certificate of Language Proficiency (YKI) in Finnish or Swedish.
        #[sea_orm(string_value = "language_certificate")]
        LanguageCertificate,
    }

    /// A qualification a client completed.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, async_graphql::SimpleObject)]
    #[sea_orm(table_name = "qualifications")]
    #[graphql(name = "Qualification", complex, tag = "class:personal")]
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
        pub kind: QualificationKind,
        pub completed_on: Date,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    client_record!(Entity);
    kotohub_subgraph::client_record_fields!(Model {});
}

pub mod education_event {
    kotohub_subgraph::event_entity!("education_events", "EducationEvent");
}
