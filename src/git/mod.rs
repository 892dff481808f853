//! git objects: raw bytes from the object database, the signed payload / signature split,
//! and revision ranges.
pub mod object;
pub mod object_id;
pub mod repo;
