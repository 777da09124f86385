//! Imports from the divisions' systems: rows of their files turned into the hub's
//! records. An imported row names its client by the Finnish personal identity code, which
//! [`identity`] checks and turns into the pseudonymous client id before anything else
//! reads the row; the code itself goes no further.

pub mod identity;
