//! git objects: raw bytes from the object database, the signed payload / signature split,
//! revision ranges, the ref a range is about (`refname`), and the receiving end of a push
//! (`push`: quarantine, new commits).
pub mod graph_commits;
pub mod object;
pub mod object_id;
pub mod packs;
pub mod push;
pub mod read_ahead;
pub mod refname;
pub mod repo;
