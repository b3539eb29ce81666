// Labels on async fns and async methods: values are taken at entry (first poll), before the
// body moves the arguments.
use instrument_runtime::{instrument, Label};

#[derive(Label, Clone, Copy, Debug)]
enum Queue {
    High,
    Low,
}

#[derive(Label, Debug)]
enum JobError {
    Cancelled,
}

struct Job {
    queue: Queue,
    payload: Vec<u8>,
}

#[instrument(labels(queue = job.queue, empty = job.payload.is_empty()), error_label)]
async fn run(job: Job) -> Result<Vec<u8>, JobError> {
    tokio::task::yield_now().await;
    if job.payload.is_empty() {
        return Err(JobError::Cancelled);
    }
    Ok(job.payload)
}

struct Worker {
    queue: Queue,
}

impl Worker {
    #[instrument(labels(queue = self.queue))]
    async fn poll(&self, n: u32) -> u32 {
        tokio::task::yield_now().await;
        n + 1
    }

    #[instrument(labels(queue = self.queue, region = "eu"))]
    async fn stop(self) -> Queue {
        self.queue
    }
}

fn main() {
    let (telemetry, collected) = instrument_ui_tests::collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let job = Job {
            queue: Queue::High,
            payload: vec![1],
        };
        assert_eq!(run(job).await.unwrap(), [1]);
        let job = Job {
            queue: Queue::Low,
            payload: vec![],
        };
        assert!(run(job).await.is_err());
        let w = Worker { queue: Queue::Low };
        assert_eq!(w.poll(1).await, 2);
        assert!(matches!(w.stop().await, Queue::Low));
    });
    let runs = instrument_ui_tests::spans(&telemetry, &collected, "run");
    assert_eq!(
        instrument_ui_tests::attr_text(&runs[1], "queue").as_deref(),
        Some("low")
    );
    assert_eq!(
        instrument_ui_tests::attr_text(&runs[1], "error").as_deref(),
        Some("cancelled")
    );
    let stop = instrument_ui_tests::only_span(&telemetry, &collected, "stop");
    assert_eq!(
        instrument_ui_tests::attr_text(&stop, "region").as_deref(),
        Some("eu")
    );
}
