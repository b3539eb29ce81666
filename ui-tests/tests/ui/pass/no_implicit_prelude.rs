// A crate with `#![no_implicit_prelude]`: the expansion names nothing from the prelude
// (only `::core`, `::std` and `::instrument_runtime`, which still resolve).
#![no_implicit_prelude]

use ::instrument_runtime::instrument;

#[instrument(err(Debug), ret, fields(n, half = n / 2, shown = %n, dbg = ?n, dotted.key = n))]
fn half(n: u32) -> ::core::result::Result<u32, &'static str> {
    if n % 2 == 1 {
        return ::core::result::Result::Err("odd");
    }
    ::core::result::Result::Ok(n / 2)
}

#[instrument]
async fn later(n: u32) -> u32 {
    n + 1
}

struct Thing(u32);

impl Thing {
    #[instrument(skip_all)]
    fn get(&mut self) -> &mut u32 {
        &mut self.0
    }
}

fn main() {
    ::std::assert_eq!(half(4), ::core::result::Result::Ok(2));
    ::std::assert!(half(3).is_err());
    let rt = ::tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    ::std::assert_eq!(rt.block_on(later(1)), 2);
    let mut t = Thing(1);
    *t.get() = 5;
    ::std::assert_eq!(t.0, 5);
}
