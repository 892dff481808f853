//! Ref tips read on every core before a date-ordered walk starts, for a repository without a
//! commit-graph.
//!
//! Why: such a walk (`gix` `Sorting::ByCommitTime`) reads every tip's commit, one after the
//! other, to learn its date before it hands over the first commit; `--all` over a repository
//! with thousands of refs (pull request heads, tags) spent a tenth of a run there, with the
//! other cores idle. The walk then reads each tip from here; its other commits, from the
//! object database as before.

use std::collections::HashMap;
use std::sync::Arc;

use gix::objs::{Data, Find, Kind};
use gix::ObjectId;
use rayon::prelude::*;

use crate::git::packs::Packs;

/// The commits of `tips` as stored, read on every core (a tip that cannot be read, or is not
/// a commit, is left to the walk, which reports it).
pub fn read_tips(
    repo: &gix::Repository,
    packs: &Packs,
    tips: &[ObjectId],
) -> HashMap<ObjectId, Arc<Vec<u8>>> {
    let shared = repo.clone().into_sync();
    let mut unique = tips.to_vec();
    unique.sort_unstable();
    unique.dedup();
    unique
        .par_iter()
        .map_init(
            || shared.to_thread_local(),
            |repo, id| {
                if let Some((kind, bytes)) = packs.find(id) {
                    return (kind == Kind::Commit).then_some((*id, bytes));
                }
                let obj = repo.find_object(*id).ok()?;
                (obj.kind == Kind::Commit).then(|| (*id, Arc::new(obj.detach().data)))
            },
        )
        .flatten()
        .collect()
}

/// The tips read ahead, then the packs ([`Packs`]), in front of an object database.
pub struct TipsRead<'a> {
    pub tips: &'a HashMap<ObjectId, Arc<Vec<u8>>>,
    pub packs: &'a Packs,
    pub objects: &'a gix::Repository,
}

impl Find for TipsRead<'_> {
    fn try_find<'a>(
        &self,
        id: &gix::oid,
        buffer: &'a mut Vec<u8>,
    ) -> gix::Result<Option<Data<'a>>> {
        match self.tips.get(id) {
            Some(bytes) => {
                buffer.clear();
                buffer.extend_from_slice(bytes);
                Ok(Some(Data {
                    kind: Kind::Commit,
                    object_hash: id.kind(),
                    data: buffer,
                }))
            }
            None => match self.packs.find(id) {
                Some((kind, bytes)) => {
                    buffer.clear();
                    buffer.extend_from_slice(&bytes);
                    Ok(Some(Data {
                        kind,
                        object_hash: id.kind(),
                        data: buffer,
                    }))
                }
                None => self.objects.try_find(id, buffer),
            },
        }
    }
}
