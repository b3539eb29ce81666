// Expansion inside a module whose user items shadow `Result`, `Option`, `Ok`, `Err`, `Some`,
// `drop`, `Box`, `core`, `std` and `instrument_runtime`: generated paths must be absolute.
#![allow(dead_code, non_camel_case_types, non_snake_case)]

mod hostile {
    // The real crate, reachable only under another name.
    use ::instrument_runtime::instrument;

    pub struct Result;
    pub struct Option;
    pub struct Box;
    pub struct Ok;
    pub struct Err;
    pub struct Some;
    pub struct None;
    pub struct Once;
    pub struct Span;
    pub fn drop() {}
    pub fn module_path() {}
    pub mod core {}
    pub mod std {}
    pub mod instrument_runtime {}
    pub mod __private {}

    #[instrument(err, ret, fields(x, y = %x, z = ?x))]
    pub fn checked(x: u8) -> ::core::result::Result<u8, ::std::string::String> {
        if x == 0 {
            return ::core::result::Result::Err(::std::string::String::from("zero"));
        }
        ::core::result::Result::Ok(x)
    }

    #[instrument(ret)]
    pub fn plain(x: u8) -> ::core::option::Option<u8> {
        ::core::option::Option::Some(x)
    }

    #[instrument(err)]
    pub async fn later(x: u8) -> ::core::result::Result<u8, ::std::string::String> {
        checked(x)
    }
}

fn main() {
    assert_eq!(hostile::checked(3), Ok(3));
    assert!(hostile::checked(0).is_err());
    assert_eq!(hostile::plain(1), Some(1));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(hostile::later(4)), Ok(4));
}
