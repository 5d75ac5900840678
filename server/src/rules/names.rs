//! The rule for keys and account names, in one place.
//!
//! The contract says: UTF-8, 1 to 256 bytes. Protobuf `string` fields are
//! UTF-8 already, so what is left to check is the length — in bytes, not
//! characters, because memory is counted in bytes ("é" is two of them).

use tonic::Status;

/// The longest key or account name, in bytes.
pub const MAX_NAME_BYTES: usize = 256;

/// Checks a key or account name; `what` names the field in the error.
pub fn check(what: &str, name: &str) -> Result<(), Status> {
    if name.is_empty() {
        return Err(Status::invalid_argument(format!(
            "{what} must not be empty"
        )));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(Status::invalid_argument(format!(
            "{what} is {} bytes long; the limit is {MAX_NAME_BYTES} bytes of UTF-8",
            name.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    #[test]
    fn one_to_256_bytes_are_accepted() {
        assert!(check("key", "x").is_ok());
        assert!(check("key", &"k".repeat(256)).is_ok());
        // 128 two-byte characters are exactly 256 bytes.
        assert!(check("key", &"é".repeat(128)).is_ok());
    }

    #[test]
    fn empty_and_oversized_names_are_invalid_arguments() {
        let empty = check("key", "").unwrap_err();
        assert_eq!(empty.code(), Code::InvalidArgument);
        assert!(empty.message().contains("key must not be empty"));

        let long = check("account", &"é".repeat(129)).unwrap_err();
        assert_eq!(long.code(), Code::InvalidArgument);
        assert!(
            long.message().contains("account is 258 bytes long"),
            "{}",
            long.message()
        );
    }
}
