// Every mistake of one derive is reported in one build.
use instrument_runtime::Label;

#[derive(Label)]
#[label(rename_all = "Title Case")]
enum Route {
    Home,
    User(u64),
    #[label(rename = "home")]
    Index,
    #[label(colour = "red")]
    Other,
}

fn main() {}
