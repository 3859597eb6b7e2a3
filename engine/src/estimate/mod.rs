//! Estimates: how long a print takes and what it uses (issue #3, in progress: FDM only, its
//! accuracy not yet at the bar; see the README).

pub mod fdm;
