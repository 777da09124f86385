//! The data-subject report (GDPR art. 15): for one client, across every division, what
//! the hub holds about them and who accessed it — when, through what, for which stated
//! purpose, under which emergency access. Made by `kotohub audit subject-report` for the
//! data-protection officer, outside the request flow: it reads each division's database
//! past the row rules (as the officer answering the request must), and records itself in
//! the access log as an export naming the client, so that the report is as visible to
//! auditors as any read.

use std::fmt::Write as _;

use kotohub_audit::entity::{audit_event, emergency_access, stored_list as list};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QueryResult, Statement,
};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::seed::{Databases, unrestricted};

/// Who the access log names as the report's maker.
pub const REPORTED_BY: &str = "kotohub-cli:subject-report";

/// The purpose the report's own event states.
pub const PURPOSE: &str = "data-subject-request";

/// One table's rows about the client.
#[derive(Debug, Serialize)]
pub struct Held {
    /// The subgraph (division, or the programme's client core) whose database holds it.
    pub subgraph: String,
    pub table: String,
    pub rows: Vec<Map<String, Value>>,
}

/// One operation that returned the client's data, as the access log recorded it.
#[derive(Debug, Serialize)]
pub struct Access {
    pub event: i64,
    pub request_id: String,
    pub occurred_at: String,
    pub subject: Option<String>,
    pub roles: Vec<String>,
    pub bodies: Vec<String>,
    pub operation: Option<String>,
    pub saved_query: Option<String>,
    pub fields: Vec<String>,
    /// The classes of data those fields are marked with.
    pub classes: Vec<String>,
    pub purpose: Option<String>,
    pub emergency_access: Option<String>,
    pub decision: String,
    pub as_file: bool,
}

/// An emergency access opened to the client.
#[derive(Debug, Serialize)]
pub struct Emergency {
    pub id: String,
    pub subject: String,
    pub bodies: Vec<String>,
    pub reason: String,
    pub opened_at: String,
    pub expires_at: String,
}

/// The report.
#[derive(Debug, Serialize)]
pub struct Report {
    pub client: String,
    pub generated_at: String,
    /// What is held, table by table; tables without a row about the client are left out.
    pub held: Vec<Held>,
    /// Every operation whose answer held the client's data, oldest first.
    pub accesses: Vec<Access>,
    pub emergency_accesses: Vec<Emergency>,
}

/// The tables about clients, by subgraph, with the column naming the client.
fn tables() -> Vec<(&'static str, &'static str, &'static str)> {
    let mut tables = vec![
        ("programme", "clients", "id"),
        ("programme", "client_bodies", "client_id"),
        ("programme", "client_facts", "client_id"),
        ("programme", "household_members", "client_id"),
        ("programme", "referrals", "client_id"),
    ];
    for (subgraph, records, _) in kotohub_migrations::DIVISION_TABLES {
        tables.extend(records.iter().map(|table| (subgraph, *table, "client_id")));
    }
    tables
}

/// A row as JSON, each column as the first type it reads as.
fn row_json(row: &QueryResult) -> Map<String, Value> {
    let mut out = Map::new();
    for column in row.column_names() {
        let value = if let Ok(v) = row.try_get::<Option<String>>("", &column) {
            v.map_or(Value::Null, Value::String)
        } else if let Ok(v) = row.try_get::<Option<i64>>("", &column) {
            v.map_or(Value::Null, Value::from)
        } else if let Ok(v) = row.try_get::<Option<i32>>("", &column) {
            v.map_or(Value::Null, Value::from)
        } else if let Ok(v) = row.try_get::<Option<f64>>("", &column) {
            v.map_or(Value::Null, Value::from)
        } else if let Ok(v) = row.try_get::<Option<bool>>("", &column) {
            v.map_or(Value::Null, Value::from)
        } else if let Ok(v) = row.try_get::<Option<chrono::NaiveDate>>("", &column) {
            v.map_or(Value::Null, |d| Value::String(d.to_string()))
        } else if let Ok(v) = row.try_get::<Option<chrono::NaiveDateTime>>("", &column) {
            v.map_or(Value::Null, |d| Value::String(d.to_string()))
        } else {
            Value::String("(a value of a type this report does not show)".to_owned())
        };
        out.insert(column, value);
    }
    out
}

/// The report on `client` from the divisions' databases and the access log.
pub async fn build(
    dbs: &Databases,
    audit: &DatabaseConnection,
    client: &str,
) -> Result<Report, DbErr> {
    let mut held = Vec::new();
    for (subgraph, table, column) in tables() {
        let Some(db) = dbs.get(subgraph) else {
            continue;
        };
        // Past the row rules: the report answers for every body.
        let txn = unrestricted(db).await?;
        let backend = db.get_database_backend();
        let placeholder = if backend == sea_orm::DbBackend::Postgres {
            "$1"
        } else {
            "?"
        };
        let rows = txn
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                format!("SELECT * FROM {table} WHERE {column} = {placeholder}"),
                [client.into()],
            ))
            .await?;
        txn.commit().await?;
        if !rows.is_empty() {
            held.push(Held {
                subgraph: subgraph.to_owned(),
                table: table.to_owned(),
                rows: rows.iter().map(row_json).collect(),
            });
        }
    }
    // The lists are JSON arrays of strings: the client's id in quotes is one element.
    let events = audit_event::Entity::find()
        .filter(audit_event::Column::ClientIds.contains(format!("\"{client}\"")))
        .order_by_asc(audit_event::Column::Seq)
        .all(audit)
        .await?;
    let accesses = events
        .into_iter()
        .filter(|event| list(&event.client_ids).iter().any(|c| c == client))
        .map(|event| Access {
            event: event.seq,
            request_id: event.request_id,
            occurred_at: event.occurred_at,
            subject: event.subject,
            roles: list(&event.roles),
            bodies: list(&event.bodies),
            operation: event.operation_name.or(event.operation_type),
            saved_query: event
                .saved_query_id
                .map(|id| format!("{id} v{}", event.saved_query_version.unwrap_or_default())),
            fields: list(&event.fields),
            classes: list(&event.classes),
            purpose: event.purpose,
            emergency_access: event.emergency_access,
            decision: event.decision,
            as_file: event.as_file,
        })
        .collect();
    let emergency_accesses = emergency_access::Entity::find()
        .filter(emergency_access::Column::ClientId.eq(client))
        .order_by_asc(emergency_access::Column::OpenedAt)
        .all(audit)
        .await?
        .into_iter()
        .map(|row| Emergency {
            id: row.id,
            subject: row.subject,
            bodies: list(&row.bodies),
            reason: row.reason,
            opened_at: row.opened_at,
            expires_at: row.expires_at,
        })
        .collect();
    Ok(Report {
        client: client.to_owned(),
        generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        held,
        accesses,
        emergency_accesses,
    })
}

/// The access-log event that records the report: an export of the client's data.
pub fn event(report: &Report) -> kotohub_gateway::audit::Event {
    kotohub_gateway::audit::Event {
        request_id: format!("subject-report-{}", report.generated_at),
        subject: Some(REPORTED_BY.to_owned()),
        operation_type: Some("report".to_owned()),
        operation_name: Some("DataSubjectReport".to_owned()),
        client_ids: vec![report.client.clone()],
        fields: report
            .held
            .iter()
            .map(|held| format!("{}.{}", held.subgraph, held.table))
            .collect(),
        row_count: report.held.iter().map(|h| h.rows.len() as i64).sum(),
        purpose: Some(PURPOSE.to_owned()),
        as_file: true,
        status: 200,
        ..kotohub_gateway::audit::Event::default()
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => escape(text),
        other => escape(&other.to_string()),
    }
}

/// The report as a printable HTML page (print it to PDF from a browser).
pub fn html(report: &Report) -> String {
    let mut page = String::new();
    let client = escape(&report.client);
    let _ = write!(
        page,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Data-subject report: {client}</title>\
         <style>body{{font:11pt/1.4 sans-serif;margin:2em}}table{{border-collapse:collapse;margin:0 0 1.5em}}\
         th,td{{border:1px solid #888;padding:.2em .4em;text-align:left;vertical-align:top}}\
         h2{{margin-top:2em}}@media print{{h2{{break-before:page}}}}</style></head><body>\
         <h1>Data-subject report: client {client}</h1>\
         <p>Made {} for a request under GDPR article 15: what Kotohub holds about the client \
         in each division, and every access to their data recorded in the access log.</p>",
        escape(&report.generated_at)
    );
    page.push_str("<h2>Data held</h2>");
    if report.held.is_empty() {
        page.push_str("<p>No division holds data about this client.</p>");
    }
    for held in &report.held {
        let _ = write!(
            page,
            "<h3>{} — {}</h3><table><thead><tr>",
            escape(&held.subgraph),
            escape(&held.table)
        );
        let columns: Vec<&String> = held
            .rows
            .first()
            .map(|r| r.keys().collect())
            .unwrap_or_default();
        for column in &columns {
            let _ = write!(page, "<th>{}</th>", escape(column));
        }
        page.push_str("</tr></thead><tbody>");
        for row in &held.rows {
            page.push_str("<tr>");
            for column in &columns {
                let _ = write!(
                    page,
                    "<td>{}</td>",
                    cell(row.get(*column).unwrap_or(&Value::Null))
                );
            }
            page.push_str("</tr>");
        }
        page.push_str("</tbody></table>");
    }
    page.push_str("<h2>Who accessed the data</h2>");
    if report.accesses.is_empty() {
        page.push_str("<p>The access log records no access to this client's data.</p>");
    } else {
        page.push_str(
            "<table><thead><tr><th>Event</th><th>When (UTC)</th><th>Who</th><th>Bodies</th>\
             <th>Operation</th><th>Purpose</th><th>Emergency access</th><th>Data</th><th>Fields</th>\
             <th>Decision</th><th>As a file</th></tr></thead><tbody>",
        );
        for access in &report.accesses {
            let _ = write!(
                page,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                access.event,
                escape(&access.occurred_at),
                escape(access.subject.as_deref().unwrap_or("")),
                escape(&access.bodies.join(", ")),
                escape(access.operation.as_deref().unwrap_or("")),
                escape(access.purpose.as_deref().unwrap_or("")),
                escape(access.emergency_access.as_deref().unwrap_or("")),
                escape(&access.classes.join(", ")),
                escape(&access.fields.join(", ")),
                escape(&access.decision),
                if access.as_file { "yes" } else { "" },
            );
        }
        page.push_str("</tbody></table>");
    }
    page.push_str("<h2>Emergency accesses</h2>");
    if report.emergency_accesses.is_empty() {
        page.push_str("<p>None was opened to this client.</p>");
    }
    for access in &report.emergency_accesses {
        let _ = write!(
            page,
            "<p><strong>{}</strong> ({}) opened {}, until {}: “{}”</p>",
            escape(&access.subject),
            escape(&access.bodies.join(", ")),
            escape(&access.opened_at),
            escape(&access.expires_at),
            escape(&access.reason)
        );
    }
    page.push_str("</body></html>\n");
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_escapes_what_it_shows() {
        let report = Report {
            client: "c-1".to_owned(),
            generated_at: "2026-12-07T10:00:00Z".to_owned(),
            held: vec![Held {
                subgraph: "social".to_owned(),
                table: "social_cases".to_owned(),
                rows: vec![Map::from_iter([(
                    "note".to_owned(),
                    Value::String("<script>alert(1)</script>".to_owned()),
                )])],
            }],
            accesses: Vec::new(),
            emergency_accesses: Vec::new(),
        };
        let page = html(&report);
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!page.contains("<script>"));
        assert!(page.contains("records no access"));
    }
}
