// Names are compared in snake_case: `userId` is `user_id`.
use instrument_runtime::instrument;

#[instrument(labels(userId = flag))]
fn handle(flag: bool) -> bool {
    flag
}

fn main() {}
