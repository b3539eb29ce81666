// Derive and labels in a crate with `#![no_implicit_prelude]`, in a module whose items shadow
// `Option`, `Some`, `Result`, `Label`, `core` and `instrument_runtime`: the expansions name
// nothing from the prelude and only absolute paths.
#![no_implicit_prelude]
#![allow(dead_code, non_camel_case_types)]

mod hostile {
    use ::instrument_runtime::instrument;

    pub struct Option;
    pub struct Some;
    pub struct None;
    pub struct Result;
    pub struct Label;
    pub struct PhantomData;
    pub struct usize;
    pub mod core {}
    pub mod instrument_runtime {}
    pub mod __private {}

    #[derive(::instrument_runtime::Label, Clone, Copy)]
    #[label(rename_all = "UPPERCASE")]
    pub enum Method {
        Get,
        #[label(rename = "post")]
        Post,
    }

    #[derive(::instrument_runtime::Label, Debug)]
    pub enum Failure {
        Bad,
    }

    #[instrument(labels(method, on = flag, region = "eu", maybe = ::core::option::Option::Some(method)), error_label, fields(token = redacted))]
    pub fn handle(method: Method, flag: bool) -> ::core::result::Result<u8, Failure> {
        if flag {
            ::core::result::Result::Ok(1)
        } else {
            ::core::result::Result::Err(Failure::Bad)
        }
    }

    #[instrument(labels(method))]
    pub async fn later(method: Method) -> u8 {
        2
    }
}

fn main() {
    ::std::assert!(hostile::handle(hostile::Method::Post, true).is_ok());
    ::std::assert!(hostile::handle(hostile::Method::Get, false).is_err());
    let rt = ::tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    ::std::assert_eq!(rt.block_on(hostile::later(hostile::Method::Get)), 2);
}
