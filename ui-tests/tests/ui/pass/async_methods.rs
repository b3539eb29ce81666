// `async fn` methods borrowing `self`, returning borrows, using `?`, and `Send` futures.
use instrument_runtime::instrument;
use instrument_ui_tests::{collect, spans};

struct Db {
    rows: Vec<String>,
}

impl Db {
    #[instrument]
    async fn row(&self, i: usize) -> Option<&str> {
        tokio::task::yield_now().await;
        self.rows.get(i).map(String::as_str)
    }

    #[instrument(err)]
    async fn parse_row(&self, i: usize) -> Result<u32, std::num::ParseIntError> {
        let row = self.row(i).await.unwrap_or("");
        let n: u32 = row.parse()?;
        Ok(n)
    }

    #[instrument]
    async fn push(&mut self, s: String) -> usize {
        self.rows.push(s);
        self.rows.len()
    }

    #[instrument]
    async fn into_rows(self) -> Vec<String> {
        self.rows
    }
}

fn assert_send<F: std::future::Future + Send>(f: F) -> F {
    f
}

fn main() {
    let (telemetry, collected) = collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let mut db = Db {
        rows: vec!["1".to_owned(), "x".to_owned()],
    };
    assert_eq!(rt.block_on(db.row(0)), Some("1"));
    assert_eq!(rt.block_on(db.parse_row(0)), Ok(1));
    assert!(rt.block_on(db.parse_row(1)).is_err());
    assert_eq!(rt.block_on(assert_send(db.push("2".to_owned()))), 3);
    let rows = rt.block_on(rt.spawn(assert_send(db.into_rows()))).unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(spans(&telemetry, &collected, "parse_row").len(), 2);
    assert_eq!(collected.call_count("Db::parse_row", "error"), 1);
}
