// Trait impl methods, sync and `async fn` in traits, with the impl's signatures unchanged.
use instrument_runtime::instrument;
use instrument_ui_tests::{collect, spans};

trait Store {
    fn get(&self, key: &str) -> Option<u32>;
    fn put(&mut self, key: String, value: u32);
    #[allow(async_fn_in_trait)]
    async fn fetch(&self, key: &str) -> Option<u32>;
}

#[derive(Default)]
struct Memory(Vec<(String, u32)>);

impl Store for Memory {
    #[instrument(fields(key))]
    fn get(&self, key: &str) -> Option<u32> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    #[instrument]
    fn put(&mut self, key: String, value: u32) {
        self.0.push((key, value));
    }

    #[instrument]
    async fn fetch(&self, key: &str) -> Option<u32> {
        tokio::task::yield_now().await;
        self.get(key)
    }
}

fn main() {
    let (telemetry, collected) = collect();
    let mut m = Memory::default();
    m.put("a".to_owned(), 1);
    assert_eq!(m.get("a"), Some(1));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(m.fetch("a")), Some(1));
    assert_eq!(rt.block_on(m.fetch("b")), None);
    assert_eq!(spans(&telemetry, &collected, "fetch").len(), 2);
    assert_eq!(spans(&telemetry, &collected, "get").len(), 3);
}
