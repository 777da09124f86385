//! Spans of a subgraph's GraphQL work, below the request span that [`crate::serve`] opens:
//! parse, validate, execute, and one per resolver that returns an object or a list of
//! them — the resolvers that read the database, whose SQL statements (sea-orm's spans)
//! nest below. Leaf fields and list elements get none: no resolver of ours runs there,
//! and a span each would multiply a thousand-client answer into tens of thousands of
//! spans.
//!
//! async-graphql's own `Tracing` extension is not used because its parse span records
//! the operation with its variables written in, and a subgraph's variables are the
//! gateway's entity representations: client ids. These spans carry only names and
//! resolver paths, whose list elements are positions, never keys.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextResolve,
    NextValidation, ResolveInfo,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::registry::MetaTypeName;
use async_graphql::{Response, ServerError, ServerResult, ValidationResult, Value, Variables};
use tracing::Instrument;

/// The extension that makes the spans; every subgraph schema has it.
pub struct Spans;

impl ExtensionFactory for Spans {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Spans)
    }
}

#[async_trait::async_trait]
impl Extension for Spans {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables)
            .instrument(tracing::info_span!("graphql.parse"))
            .await
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx)
            .instrument(tracing::info_span!("graphql.validate"))
            .await
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let span = tracing::info_span!(
            "graphql.execute",
            graphql.operation.name = operation_name.unwrap_or_default()
        );
        next.run(ctx, operation_name).instrument(span).await
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        // Asked first so that an untraced process never looks the type up.
        let traced = !info.is_for_introspection
            && tracing::enabled!(kind: tracing::metadata::Kind::SPAN, tracing::Level::INFO);
        let leaf = || {
            ctx.schema_env
                .registry
                .types
                .get(MetaTypeName::concrete_typename(info.return_type))
                .is_none_or(|ty| ty.is_leaf())
        };
        // async-graphql also calls this hook once per element of a list (the "parent" is
        // the list type): no resolver runs there, so no span.
        let element = info.parent_type.starts_with('[');
        if !traced || element || leaf() {
            return next.run(ctx, info).await;
        }
        let span = tracing::info_span!(
            "graphql.resolve",
            otel.name = %format_args!("{}.{}", info.parent_type, info.name),
            graphql.field.path = %info.path_node,
        );
        next.run(ctx, info).instrument(span).await
    }
}
