// `#[instrument]` produced by a `macro_rules!` macro, with fields naming the macro's parameter.
use instrument_runtime::instrument;

macro_rules! getter {
    ($name:ident, $arg:ident: $ty:ty => $body:expr) => {
        #[instrument(fields($arg), err)]
        fn $name($arg: $ty) -> Result<$ty, String> {
            if $body {
                Ok($arg)
            } else {
                Err(format!("bad {}", $arg))
            }
        }
    };
}

getter!(positive, x: i64 => x > 0);
getter!(short, s: &'static str => s.len() < 4);

fn main() {
    assert_eq!(positive(3), Ok(3));
    assert!(positive(-3).is_err());
    assert_eq!(short("ab"), Ok("ab"));
}
