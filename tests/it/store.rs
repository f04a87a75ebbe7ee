//! The store on both back ends: every test here runs once on SQLite (a
//! file in a temporary directory) and once on a real PostgreSQL server
//! started by `support::postgres` — same queries, same answers.

use crate::support;

use mailvet::store::{
    Claim, InboxStatus, InboxToken, ReportId, SavedReport, Store, StoreError, Swept,
    TlsReportToken, sweeper,
};
use serde_json::json;
use std::time::Duration;
use support::store::{Backend, ManualClock, TempDir, TestDatabase};

/// A moment to start the clocks at: 2026-06-01 00:00:00 UTC.
const T0: u64 = 1_780_272_000;
const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

fn sample_report() -> serde_json::Value {
    json!({
        "verdict": "warn",
        "summary": "Delivered, but one forward away from failing DMARC — «DKIM» broken",
        "findings": [{"code": "dkim.body_hash_mismatch", "severity": "error"}],
        "dkim": [{"domain": "example.com", "selector": "s2026", "result": "fail"}],
        "score": 72,
        "subject": "<script>alert(1)</script>",
    })
}

/// A store on `db` whose time is `clock`'s.
async fn at(db: &TestDatabase, clock: &ManualClock) -> Store {
    db.open().await.with_clock(clock.reader())
}

/// A store on `db` at `T0` keeping reports for `retention` seconds, and
/// the clock that moves it.
async fn keeping(db: &TestDatabase, retention: u64) -> (Store, ManualClock) {
    let clock = ManualClock::at(T0);
    let store = at(db, &clock)
        .await
        .with_retention(Duration::from_secs(retention));
    (store, clock)
}

/// A new test address on `store`, accepting a message for an hour.
async fn new_inbox(store: &Store) -> InboxToken {
    let token = InboxToken::generate().unwrap();
    store
        .create_inbox(&token, "t@inbox.example", Duration::from_secs(HOUR), false)
        .await
        .unwrap();
    token
}

/// Delivers the sample report to `token`, which must accept it.
async fn deliver(store: &Store, token: &InboxToken) -> SavedReport {
    match store
        .claim_inbox(token, &sample_report(), None)
        .await
        .unwrap()
    {
        Claim::Accepted(saved) => saved,
        other => panic!("{token}: not accepted: {other:?}"),
    }
}

crate::on_both_back_ends!(
    a_saved_report_reads_back_as_saved,
    the_raw_message_is_kept_only_when_given,
    the_retention_sets_the_expiry,
    an_expired_report_is_gone_before_the_sweeper_runs,
    delete_says_whether_there_was_a_report,
    unknown_report_ids_read_as_nothing,
    the_sweeper_deletes_only_what_expired,
    the_sweeper_deletes_past_one_batch,
    the_sweeper_task_deletes_in_the_background,
    an_inbox_accepts_one_message,
    an_expired_inbox_refuses_mail_and_saves_nothing,
    an_unknown_token_is_refused_and_saves_nothing,
    an_inbox_is_kept_for_the_retention_after_it_expires,
    deleting_its_report_leaves_the_inbox_received,
    replicas_see_each_others_reports,
    replicas_racing_for_one_token_exactly_one_wins,
    selectors_widen_their_first_and_last_seen,
    selectors_are_listed_most_recent_first_up_to_the_limit,
    unfit_selectors_are_refused_and_nothing_stored,
    the_schema_is_the_same_on_both_back_ends,
    reopening_keeps_the_data_and_applies_nothing_twice,
    an_edited_migration_is_refused,
    a_database_from_a_newer_mailvet_is_refused,
    a_domain_gets_one_tls_report_token_and_keeps_it,
    a_replaced_tls_report_token_lets_nothing_in,
    replicas_asking_at_once_get_one_tls_report_token,
);

async fn a_saved_report_reads_back_as_saved(db: TestDatabase) {
    let clock = ManualClock::at(T0);
    let store = at(&db, &clock).await;
    let saved = store.save_report(&sample_report(), None).await.unwrap();
    assert_eq!(saved.created_at, T0);
    assert_eq!(saved.expires_at, T0 + 7 * DAY, "default retention: 7 days");

    let stored = store.report(&saved.id).await.unwrap().expect("saved");
    assert_eq!(stored.id, saved.id);
    assert_eq!(stored.report, sample_report());
    assert!(!stored.raw_kept);
    assert_eq!((stored.created_at, stored.expires_at), (T0, T0 + 7 * DAY));
    assert_eq!(store.raw_message(&saved.id).await.unwrap(), None);

    // The id is the one in the row, as written, and nothing else is stored.
    assert_eq!(db.count("message_reports").await, 1);
    let parsed: ReportId = saved.id.to_string().parse().unwrap();
    assert_eq!(parsed, saved.id);
}

async fn the_raw_message_is_kept_only_when_given(db: TestDatabase) {
    let store = db.open().await;
    // Not UTF-8, with a NUL and CRLFs: bytes are kept as bytes.
    let raw: &[u8] = b"From: a@example.com\r\nSubject: \xff\xfe\0\r\n\r\nbody\r\n";
    let kept = store
        .save_report(&sample_report(), Some(raw))
        .await
        .unwrap();
    let dropped = store.save_report(&sample_report(), None).await.unwrap();

    assert!(store.report(&kept.id).await.unwrap().unwrap().raw_kept);
    assert_eq!(
        store.raw_message(&kept.id).await.unwrap().as_deref(),
        Some(raw)
    );
    assert!(!store.report(&dropped.id).await.unwrap().unwrap().raw_kept);
    assert_eq!(store.raw_message(&dropped.id).await.unwrap(), None);

    let mut conn = db.raw().await;
    let with_raw: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM message_reports WHERE raw_message IS NOT NULL")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(with_raw, 1, "only the report whose sender asked keeps it");
}

async fn the_retention_sets_the_expiry(db: TestDatabase) {
    let (store, _) = keeping(&db, HOUR).await;
    let saved = store.save_report(&sample_report(), None).await.unwrap();
    assert_eq!(saved.expires_at, T0 + HOUR);
    assert_eq!(store.retention(), Duration::from_secs(HOUR));
}

async fn an_expired_report_is_gone_before_the_sweeper_runs(db: TestDatabase) {
    let (store, clock) = keeping(&db, HOUR).await;
    let saved = store
        .save_report(&sample_report(), Some(b"raw"))
        .await
        .unwrap();

    clock.set(T0 + HOUR - 1);
    assert!(store.report(&saved.id).await.unwrap().is_some());
    clock.set(T0 + HOUR);
    assert_eq!(store.report(&saved.id).await.unwrap(), None);
    assert_eq!(store.raw_message(&saved.id).await.unwrap(), None);
    assert_eq!(db.count("message_reports").await, 1, "not swept yet");

    assert_eq!(
        store.sweep().await.unwrap(),
        Swept {
            reports: 1,
            inboxes: 0
        }
    );
    assert_eq!(db.count("message_reports").await, 0, "swept: really gone");
}

async fn delete_says_whether_there_was_a_report(db: TestDatabase) {
    let (store, clock) = keeping(&db, HOUR).await;
    let saved = store
        .save_report(&sample_report(), Some(b"raw"))
        .await
        .unwrap();
    let other = store.save_report(&sample_report(), None).await.unwrap();

    assert!(store.delete_report(&saved.id).await.unwrap());
    assert_eq!(store.report(&saved.id).await.unwrap(), None);
    assert!(!store.delete_report(&saved.id).await.unwrap(), "twice");
    assert!(
        !store
            .delete_report(&ReportId::generate().unwrap())
            .await
            .unwrap(),
        "never saved"
    );
    assert_eq!(db.count("message_reports").await, 1, "the other one stays");

    // An expired report was not there to delete, but its row goes.
    clock.set(T0 + HOUR);
    assert!(!store.delete_report(&other.id).await.unwrap());
    assert_eq!(db.count("message_reports").await, 0);
}

async fn unknown_report_ids_read_as_nothing(db: TestDatabase) {
    let store = db.open().await;
    let id = ReportId::generate().unwrap();
    assert_eq!(store.report(&id).await.unwrap(), None);
    assert_eq!(store.raw_message(&id).await.unwrap(), None);
}

async fn the_sweeper_deletes_only_what_expired(db: TestDatabase) {
    let (store, clock) = keeping(&db, HOUR).await;
    let old = store.save_report(&sample_report(), None).await.unwrap();
    clock.set(T0 + HOUR / 2);
    let young = store.save_report(&sample_report(), None).await.unwrap();

    clock.set(T0 + HOUR);
    assert_eq!(store.sweep().await.unwrap().reports, 1);
    assert_eq!(db.count("message_reports").await, 1);
    assert!(store.report(&young.id).await.unwrap().is_some());
    assert_eq!(store.report(&old.id).await.unwrap(), None);
    assert_eq!(
        store.sweep().await.unwrap(),
        Swept::default(),
        "nothing left"
    );
}

async fn the_sweeper_deletes_past_one_batch(db: TestDatabase) {
    let (store, clock) = keeping(&db, HOUR).await;
    // More than two batches of 1000, saved many at a time.
    const REPORTS: usize = 2_100;
    let report = json!({"n": 1});
    let saves = (0..REPORTS).map(|_| store.save_report(&report, None));
    for saved in futures_util::future::join_all(saves).await {
        saved.unwrap();
    }
    clock.set(T0 + HOUR);
    assert_eq!(store.sweep().await.unwrap().reports, REPORTS as u64);
    assert_eq!(db.count("message_reports").await, 0);
}

async fn the_sweeper_task_deletes_in_the_background(db: TestDatabase) {
    let (store, clock) = keeping(&db, HOUR).await;
    store.save_report(&sample_report(), None).await.unwrap();
    let sweeper = store.spawn_sweeper(Duration::from_millis(20));
    // Nothing has expired: the sweeps find nothing to delete.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(db.count("message_reports").await, 1);

    clock.set(T0 + HOUR);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while db.count("message_reports").await != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the sweeper task did not delete the expired report"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sweeper.abort();
    assert!(sweeper.await.unwrap_err().is_cancelled());
    assert!(sweeper::DEFAULT_INTERVAL <= Duration::from_secs(3600));
}

async fn an_inbox_accepts_one_message(db: TestDatabase) {
    let clock = ManualClock::at(T0);
    let store = at(&db, &clock).await;
    let token = InboxToken::generate().unwrap();
    let address = format!("t-{token}@inbox.example");
    let created = store
        .create_inbox(&token, &address, Duration::from_secs(HOUR), false)
        .await
        .unwrap();
    assert_eq!(created.address, address);
    assert_eq!((created.created_at, created.expires_at), (T0, T0 + HOUR));
    assert!(!created.keep_raw);
    let keeping = InboxToken::generate().unwrap();
    store
        .create_inbox(&keeping, "t@inbox.example", Duration::from_secs(HOUR), true)
        .await
        .unwrap();
    assert!(store.inbox(&keeping).await.unwrap().unwrap().keep_raw);
    assert_eq!(store.inbox(&token).await.unwrap(), Some(created.clone()));

    clock.set(T0 + 60);
    let first = store
        .claim_inbox(&token, &sample_report(), None)
        .await
        .unwrap();
    let Claim::Accepted(saved) = first else {
        panic!("the first message is accepted: {first:?}")
    };
    assert_eq!(saved.created_at, T0 + 60);
    let inbox = store.inbox(&token).await.unwrap().unwrap();
    assert_eq!(
        inbox.status,
        InboxStatus::Received {
            at: T0 + 60,
            report: Some(saved.id)
        }
    );
    assert_eq!(
        store.report(&saved.id).await.unwrap().unwrap().report,
        sample_report()
    );

    let second = store
        .claim_inbox(&token, &json!({"second": true}), Some(b"raw"))
        .await
        .unwrap();
    assert_eq!(second, Claim::AlreadyReceived);
    assert_eq!(
        db.count("message_reports").await,
        1,
        "the second saved nothing"
    );
}

async fn an_expired_inbox_refuses_mail_and_saves_nothing(db: TestDatabase) {
    let clock = ManualClock::at(T0);
    let store = at(&db, &clock).await;
    let token = new_inbox(&store).await;
    clock.set(T0 + HOUR - 1);
    assert_eq!(
        store.inbox(&token).await.unwrap().unwrap().status,
        InboxStatus::Waiting
    );
    clock.set(T0 + HOUR);
    assert_eq!(
        store.inbox(&token).await.unwrap().unwrap().status,
        InboxStatus::Expired
    );
    assert_eq!(
        store
            .claim_inbox(&token, &sample_report(), None)
            .await
            .unwrap(),
        Claim::Expired
    );
    assert_eq!(db.count("message_reports").await, 0);
}

async fn an_unknown_token_is_refused_and_saves_nothing(db: TestDatabase) {
    let store = db.open().await;
    let token = InboxToken::generate().unwrap();
    assert_eq!(store.inbox(&token).await.unwrap(), None);
    assert_eq!(
        store
            .claim_inbox(&token, &sample_report(), Some(b"raw"))
            .await
            .unwrap(),
        Claim::Unknown
    );
    assert_eq!(db.count("message_reports").await, 0);
}

async fn an_inbox_is_kept_for_the_retention_after_it_expires(db: TestDatabase) {
    let (store, clock) = keeping(&db, DAY).await;
    let unused = new_inbox(&store).await;
    let used = new_inbox(&store).await;
    let saved = deliver(&store, &used).await;

    clock.set(T0 + HOUR + DAY - 1);
    assert_eq!(
        store.sweep().await.unwrap(),
        Swept {
            reports: 1,
            inboxes: 0
        }
    );
    assert_eq!(
        store.inbox(&unused).await.unwrap().unwrap().status,
        InboxStatus::Expired
    );
    // Its report is swept (a day after it came); the token still says so.
    assert_eq!(
        store.inbox(&used).await.unwrap().unwrap().status,
        InboxStatus::Received {
            at: T0,
            report: None
        }
    );
    assert_eq!(store.report(&saved.id).await.unwrap(), None);

    clock.set(T0 + HOUR + DAY);
    assert_eq!(store.inbox(&unused).await.unwrap(), None);
    assert_eq!(store.inbox(&used).await.unwrap(), None);
    assert_eq!(
        store.sweep().await.unwrap(),
        Swept {
            reports: 0,
            inboxes: 2
        }
    );
    assert_eq!(db.count("inbox_tokens").await, 0);
}

async fn deleting_its_report_leaves_the_inbox_received(db: TestDatabase) {
    let clock = ManualClock::at(T0);
    let store = at(&db, &clock).await;
    let token = new_inbox(&store).await;
    let saved = deliver(&store, &token).await;
    assert!(store.delete_report(&saved.id).await.unwrap());
    assert_eq!(
        store.inbox(&token).await.unwrap().unwrap().status,
        InboxStatus::Received {
            at: T0,
            report: None
        }
    );
    // Still received: a deleted report does not reopen the address.
    assert_eq!(
        store
            .claim_inbox(&token, &sample_report(), None)
            .await
            .unwrap(),
        Claim::AlreadyReceived
    );
}

async fn replicas_see_each_others_reports(db: TestDatabase) {
    let one = db.open().await;
    let two = db.open().await;
    let saved = one
        .save_report(&sample_report(), Some(b"raw"))
        .await
        .unwrap();
    let seen = two
        .report(&saved.id)
        .await
        .unwrap()
        .expect("the other replica's report");
    assert_eq!(seen.report, sample_report());
    assert_eq!(
        two.raw_message(&saved.id).await.unwrap().as_deref(),
        Some(&b"raw"[..])
    );

    let token = new_inbox(&two).await;
    assert_eq!(
        one.inbox(&token).await.unwrap().unwrap().status,
        InboxStatus::Waiting
    );

    assert!(two.delete_report(&saved.id).await.unwrap());
    assert_eq!(one.report(&saved.id).await.unwrap(), None);
}

async fn replicas_racing_for_one_token_exactly_one_wins(db: TestDatabase) {
    let one = db.open().await;
    let two = db.open().await;
    const TOKENS: usize = 25;
    let mut tokens = Vec::new();
    for _ in 0..TOKENS {
        tokens.push(new_inbox(&one).await);
    }
    // Each token gets two messages at once, one through each replica;
    // all the claims run together.
    let (via_one, via_two) = (json!({"via": "one"}), json!({"via": "two"}));
    let races = tokens.iter().map(|token| {
        let (one, two, via_one, via_two) = (one.clone(), two.clone(), &via_one, &via_two);
        async move {
            let (a, b) = tokio::join!(
                one.claim_inbox(token, via_one, None),
                two.claim_inbox(token, via_two, None),
            );
            (token, a.unwrap(), b.unwrap())
        }
    });
    for (token, a, b) in futures_util::future::join_all(races).await {
        let (won, lost) = match (&a, &b) {
            (Claim::Accepted(saved), lost) | (lost, Claim::Accepted(saved)) => (saved, lost),
            _ => panic!("{token}: nobody won: {a:?} {b:?}"),
        };
        assert_eq!(*lost, Claim::AlreadyReceived, "{token}: both won");
        let inbox = one.inbox(token).await.unwrap().unwrap();
        assert!(
            matches!(inbox.status, InboxStatus::Received { report: Some(id), .. } if id == won.id),
            "{token}: {inbox:?}"
        );
    }
    assert_eq!(
        db.count("message_reports").await,
        TOKENS as i64,
        "the losers saved nothing"
    );
}

async fn selectors_widen_their_first_and_last_seen(db: TestDatabase) {
    let store = db.open().await;
    // Reports arrive in any order, and name the domain in any case.
    for (domain, selector, seen) in [
        ("example.com", "s1", 200),
        ("EXAMPLE.com.", "S1", 100),
        ("example.com", "s1", 300),
        ("example.com", "s1", 250),
    ] {
        store
            .learn_dkim_selector(domain, selector, seen)
            .await
            .unwrap();
    }
    let learned = store
        .learned_dkim_selectors("Example.Com", 10)
        .await
        .unwrap();
    assert_eq!(
        learned.len(),
        1,
        "one selector whatever its case: {learned:?}"
    );
    assert_eq!(learned[0].selector, "s1");
    assert_eq!((learned[0].first_seen, learned[0].last_seen), (100, 300));
    assert_eq!(
        store
            .learned_dkim_selectors("other.example", 10)
            .await
            .unwrap(),
        vec![]
    );
}

async fn selectors_are_listed_most_recent_first_up_to_the_limit(db: TestDatabase) {
    let store = db.open().await;
    for (selector, seen) in [("old", 100), ("b", 300), ("a", 300), ("new", 400)] {
        store
            .learn_dkim_selector("example.com", selector, seen)
            .await
            .unwrap();
    }
    store
        .learn_dkim_selector("other.example", "x", 999)
        .await
        .unwrap();
    let names = |limit| {
        let store = store.clone();
        async move {
            store
                .learned_dkim_selectors("example.com", limit)
                .await
                .unwrap()
                .into_iter()
                .map(|s| s.selector)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(names(10).await, ["new", "a", "b", "old"]);
    assert_eq!(names(2).await, ["new", "a"]);
    assert!(names(0).await.is_empty());
    // A selector whose key the audit found comes first; one found no
    // longer goes back among the others.
    store
        .record_dkim_keys("example.com", &[("old", true), ("new", false)])
        .await
        .unwrap();
    assert_eq!(names(2).await, ["old", "new"]);
    store
        .record_dkim_keys("example.com", &[("old", false), ("unlearned", true)])
        .await
        .unwrap();
    assert_eq!(names(10).await, ["new", "a", "b", "old"]);
}

async fn unfit_selectors_are_refused_and_nothing_stored(db: TestDatabase) {
    let store = db.open().await;
    for (domain, selector) in [
        ("example.com", ""),
        ("", "s1"),
        ("example.com", "has space"),
        ("example.com", &"s".repeat(254)),
        ("bücher.example", "s1"),
    ] {
        let err = store
            .learn_dkim_selector(domain, selector, 1)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Invalid { .. }),
            "{domain:?} {selector:?}: {err}"
        );
        assert!(err.to_string().starts_with("refused to store a"), "{err}");
    }
    assert_eq!(db.count("dkim_selectors").await, 0);
}

/// Every table and its columns, in order, as both back ends must have
/// them after the migrations.
const SCHEMA: &[(&str, &[&str])] = &[
    (
        "message_reports",
        &["id", "report", "raw_message", "created_at", "expires_at"],
    ),
    (
        "inbox_tokens",
        &[
            "token",
            "address",
            "status",
            "created_at",
            "expires_at",
            "received_at",
            "report_id",
            "keep_raw",
        ],
    ),
    (
        "dkim_selectors",
        &[
            "domain",
            "selector",
            "first_seen",
            "last_seen",
            "key_found_at",
        ],
    ),
    (
        "received_reports",
        &[
            "kind",
            "org_name",
            "report_id",
            "domain",
            "begin_at",
            "end_at",
            "records",
            "messages",
            "report",
            "imported_at",
        ],
    ),
    ("tls_report_endpoints", &["domain", "token", "created_at"]),
];

async fn the_schema_is_the_same_on_both_back_ends(db: TestDatabase) {
    db.open().await;
    let mut conn = db.raw().await;
    let (tables, columns) = match db.backend {
        Backend::Sqlite => (
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
            "SELECT name FROM pragma_table_info($1) ORDER BY cid",
        ),
        Backend::Postgres => (
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations' \
             ORDER BY 1",
            "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 \
             ORDER BY ordinal_position",
        ),
    };
    let found: Vec<String> = sqlx::query_scalar(tables)
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let mut expected: Vec<&str> = SCHEMA.iter().map(|(table, _)| *table).collect();
    expected.sort();
    assert_eq!(found, expected);
    for (table, expected) in SCHEMA {
        let found: Vec<String> = sqlx::query_scalar(columns)
            .bind(*table)
            .fetch_all(&mut conn)
            .await
            .unwrap();
        assert_eq!(&found, expected, "{table}");
    }
}

async fn reopening_keeps_the_data_and_applies_nothing_twice(db: TestDatabase) {
    let store = db.open().await;
    let saved = store.save_report(&sample_report(), None).await.unwrap();
    store.close().await;
    let again = db.open().await;
    assert!(again.report(&saved.id).await.unwrap().is_some());
    let applied = db.count("_sqlx_migrations").await;
    assert_eq!(applied, mailvet::store::migrations::MIGRATIONS.len() as i64);
}

async fn an_edited_migration_is_refused(db: TestDatabase) {
    let message = open_after_tampering(
        &db,
        "UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 1",
    )
    .await;
    assert!(
        message.contains("migration 1 was previously applied but has been modified"),
        "{message}"
    );
}

async fn a_database_from_a_newer_mailvet_is_refused(db: TestDatabase) {
    let message = open_after_tampering(
        &db,
        "INSERT INTO _sqlx_migrations \
         (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', TRUE, $1, 0)",
    )
    .await;
    assert!(
        message.contains("migration 9999 was previously applied but is missing"),
        "{message}"
    );
}

/// Migrates `db`, runs `tamper` on its migration records (`$1`: a wrong
/// checksum), and returns the error opening it again gives.
async fn open_after_tampering(db: &TestDatabase, tamper: &'static str) -> String {
    db.open().await.close().await;
    let mut conn = db.raw().await;
    sqlx::query(tamper)
        .bind(&[0u8; 48][..])
        .execute(&mut conn)
        .await
        .unwrap();
    let err = Store::open(&db.url).await.unwrap_err();
    assert!(matches!(err, StoreError::Migrate { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with("cannot bring the schema of the database"),
        "{message}"
    );
    message
}

// PostgreSQL only: what SQLite, one process's database, never meets.

#[tokio::test]
async fn replicas_starting_together_migrate_once() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let opens = (0..4).map(|_| Store::open(&db.url));
    for opened in futures_util::future::join_all(opens).await {
        opened.unwrap();
    }
    assert_eq!(
        db.count("_sqlx_migrations").await,
        mailvet::store::migrations::MIGRATIONS.len() as i64
    );
}

// PostgreSQL over TLS: compiled in (rustls), so it had better work.

#[tokio::test]
async fn postgres_over_verified_tls() {
    let url = support::postgres::database().await;
    let ca = support::postgres::ca_file();
    let tls = format!("{url}&sslmode=verify-full&sslrootcert={}", ca.display());
    let store = Store::open(&tls).await.unwrap();
    let saved = store.save_report(&sample_report(), None).await.unwrap();
    assert!(store.report(&saved.id).await.unwrap().is_some());

    // The session really is encrypted.
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&tls)
        .await
        .unwrap();
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(ssl);

    // A certificate from a CA nobody trusts is refused: only the Mozilla
    // roots are trusted without sslrootcert.
    let err = Store::open(&format!("{url}&sslmode=verify-full"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    assert!(err.to_string().contains("certificate"), "{err}");
}

// Errors that need no database, or a database that cannot be.

/// The error opening `url` gives; it never shows the password `hunter2`.
async fn open_fails(url: &str) -> StoreError {
    let err = Store::open(url).await.expect_err(url);
    assert!(!err.to_string().contains("hunter2"), "{err}");
    err
}

#[tokio::test]
async fn an_unknown_scheme_is_a_clear_error() {
    let err = open_fails("mysql://root:hunter2@db/mailvet").await;
    assert!(matches!(err, StoreError::UnsupportedUrl { .. }), "{err:?}");
    assert!(
        err.to_string().contains("sqlite://PATH or postgres://"),
        "{err}"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error_at_once() {
    // Port 1 on loopback: nothing listens, the connection is refused.
    let started = std::time::Instant::now();
    let err = open_fails("postgres://mailvet:hunter2@127.0.0.1:1/mailvet").await;
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with("cannot open the database postgres://mailvet:***@127.0.0.1:1/mailvet"),
        "{message}"
    );
    assert!(
        message.contains("refused"),
        "the cause, not a pool timeout: {message}"
    );
    // Generous: what matters is that no retry loop runs for half a minute.
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn a_sqlite_file_that_cannot_be_opened_is_a_clear_error() {
    let dir = TempDir::new("store-unopenable");
    // The database path is a directory.
    let path = dir.0.join("a-directory.db");
    std::fs::create_dir(&path).unwrap();
    let err = open_fails(&format!("sqlite://{}", path.display())).await;
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("cannot open the database sqlite://"),
        "{err}"
    );

    // Its directory cannot be made: a file stands in the way.
    std::fs::write(dir.0.join("file"), b"").unwrap();
    let err = open_fails(&format!("sqlite://{}/file/sub/m.db", dir.0.display())).await;
    assert!(matches!(err, StoreError::DataDir { .. }), "{err:?}");
}

#[tokio::test]
async fn a_fresh_data_directory_is_created_on_first_open() {
    let dir = TempDir::new("store-fresh");
    let data_dir = dir.0.join("not").join("yet");
    let store = Store::open(&Store::default_url(&data_dir)).await.unwrap();
    assert!(data_dir.join(mailvet::store::SQLITE_FILE).is_file());
    assert_eq!(store.backend(), mailvet::store::Backend::Sqlite);
    let saved = store.save_report(&sample_report(), None).await.unwrap();
    assert!(store.report(&saved.id).await.unwrap().is_some());
}

async fn a_domain_gets_one_tls_report_token_and_keeps_it(db: TestDatabase) {
    let store = db.open().await;
    let token = store.tls_report_token("Example.COM.", false).await.unwrap();
    assert_eq!(token.as_str().len(), 32);
    for _ in 0..3 {
        let again = store.tls_report_token("example.com", false).await.unwrap();
        assert_eq!(again, token, "the same token every time");
    }
    assert_eq!(db.count("tls_report_endpoints").await, 1);
    assert_eq!(
        store.tls_report_domain(&token).await.unwrap().as_deref(),
        Some("example.com"),
        "kept as a domain is kept: lowercase, no final dot"
    );
    let other = store
        .tls_report_token("other.example", false)
        .await
        .unwrap();
    assert_ne!(other, token);
    assert_eq!(
        store.tls_report_domain(&other).await.unwrap().as_deref(),
        Some("other.example")
    );
    let unknown = TlsReportToken::generate().unwrap();
    assert_eq!(store.tls_report_domain(&unknown).await.unwrap(), None);
    // Reopened (another replica): the same token.
    let reopened = db.open().await;
    assert_eq!(
        reopened
            .tls_report_token("example.com", false)
            .await
            .unwrap(),
        token
    );
    let err = store.tls_report_token("", false).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
}

async fn a_replaced_tls_report_token_lets_nothing_in(db: TestDatabase) {
    let store = db.open().await;
    let old = store.tls_report_token("example.com", false).await.unwrap();
    let new = store.tls_report_token("example.com", true).await.unwrap();
    assert_ne!(new, old);
    assert_eq!(store.tls_report_domain(&old).await.unwrap(), None);
    assert_eq!(
        store.tls_report_domain(&new).await.unwrap().as_deref(),
        Some("example.com")
    );
    assert_eq!(
        store.tls_report_token("example.com", false).await.unwrap(),
        new,
        "the new token is kept from then on"
    );
    assert_eq!(db.count("tls_report_endpoints").await, 1);
    // Replacing a domain without one makes its first.
    let first = store.tls_report_token("fresh.example", true).await.unwrap();
    assert_eq!(
        store
            .tls_report_token("fresh.example", false)
            .await
            .unwrap(),
        first
    );
}

async fn replicas_asking_at_once_get_one_tls_report_token(db: TestDatabase) {
    let (a, b) = (db.open().await, db.open().await);
    let asks = (0..8).map(|i| {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tokio::spawn(async move { store.tls_report_token("example.com", false).await })
    });
    let mut tokens = Vec::new();
    for ask in asks.collect::<Vec<_>>() {
        tokens.push(ask.await.unwrap().unwrap());
    }
    assert!(tokens.iter().all(|t| *t == tokens[0]), "{tokens:?}");
    assert_eq!(db.count("tls_report_endpoints").await, 1);
}
