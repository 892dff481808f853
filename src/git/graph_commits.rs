//! Commits as the commit-graph describes them, for a walk that needs only their parents and
//! dates: a commit the graph holds is answered from it, without reading or inflating the
//! object; any other object is read from the object database.
//!
//! Why: a date-ordered walk (`gix` `Sorting::ByCommitTime`) reads every tip's commit to learn
//! its date before it looks at the graph, and `--all` over a repository with many refs (pull
//! request heads, tags) has thousands of tips. With kept facts the walk is nearly all a second
//! run does, and a third of it went to inflating tips.
//!
//! The answer is a minimal commit object (tree, parents, and the graph's commit date as both
//! author and committer date): what a walk parses. It is never verified or shown; readers of
//! the real bytes use the object database.

use gix::commitgraph::Graph;
use gix::objs::{Data, Find, Kind};

/// The commit-graph in front of an object database.
pub struct GraphCommits<'a> {
    pub graph: Graph,
    pub objects: &'a gix::Repository,
}

impl Find for GraphCommits<'_> {
    fn try_find<'a>(
        &self,
        id: &gix::oid,
        buffer: &'a mut Vec<u8>,
    ) -> gix::Result<Option<Data<'a>>> {
        let Some(pos) = self.graph.lookup(id) else {
            return self.objects.try_find(id, buffer);
        };
        let commit = self.graph.commit_at(pos);
        buffer.clear();
        let mut line = |name: &str, id: &gix::oid| {
            buffer.extend_from_slice(name.as_bytes());
            buffer.push(b' ');
            let mut hex = [0; gix::hash::Kind::longest().len_in_hex()];
            buffer.extend_from_slice(id.hex_to_buf(&mut hex).as_bytes());
            buffer.push(b'\n');
        };
        line("tree", commit.root_tree_id());
        for parent in commit.iter_parents() {
            match parent {
                Ok(p) => line("parent", self.graph.commit_at(p).id()),
                // A damaged graph: the object database knows the commit.
                Err(_) => return self.objects.try_find(id, buffer),
            }
        }
        let time = commit.committer_timestamp();
        for who in ["author", "committer"] {
            buffer.extend_from_slice(format!("{who} graph <> {time} +0000\n").as_bytes());
        }
        buffer.push(b'\n');
        Ok(Some(Data {
            kind: Kind::Commit,
            object_hash: id.kind(),
            data: buffer,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gix::objs::CommitRefIter;

    /// Every commit of a real history (tests/data/real-history/wolfictl.git, 4,118 commits,
    /// merges among them) with a commit-graph written by git: the graph's answer has the
    /// object's tree, parents in order and committer date.
    #[test]
    fn a_graph_commit_has_the_objects_tree_parents_and_date() {
        let dir = tempfile::tempdir().expect("temp dir");
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/real-history/wolfictl.git");
        let repo_dir = dir.path().join("w.git");
        let copy = std::process::Command::new("cp")
            .arg("-r")
            .arg(&src)
            .arg(&repo_dir)
            .status()
            .expect("cp runs");
        assert!(copy.success());
        std::fs::create_dir_all(repo_dir.join("refs")).expect("refs dir");
        let written = std::process::Command::new("git")
            .arg("--git-dir")
            .arg(&repo_dir)
            .args(["commit-graph", "write", "--reachable"])
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .status()
            .expect("git runs");
        assert!(written.success());
        let repo = gix::open(&repo_dir).expect("open");
        let graph = repo.commit_graph().expect("the graph git wrote");
        let ids: Vec<gix::ObjectId> = (0..graph.num_commits())
            .map(|i| graph.id_at(gix::commitgraph::Position(i)).to_owned())
            .collect();
        assert_eq!(ids.len(), 4_118);
        let graph_commits = GraphCommits {
            graph,
            objects: &repo,
        };
        let (mut merges, mut buf, mut real) = (0, Vec::new(), Vec::new());
        for id in &ids {
            let ours = graph_commits
                .try_find(id, &mut buf)
                .expect("found")
                .expect("present");
            assert_eq!(ours.kind, Kind::Commit);
            let mut ours = CommitRefIter::from_bytes(ours.data, id.kind());
            let theirs = repo
                .objects
                .try_find(id, &mut real)
                .expect("read")
                .expect("present");
            let mut theirs = CommitRefIter::from_bytes(theirs.data, id.kind());
            assert_eq!(
                ours.tree_id().expect("tree"),
                theirs.tree_id().expect("tree"),
                "{id}"
            );
            let parents: Vec<_> = ours.parent_ids().collect();
            assert_eq!(parents, theirs.parent_ids().collect::<Vec<_>>(), "{id}");
            merges += usize::from(parents.len() > 1);
            assert_eq!(
                ours.committer().expect("committer").seconds(),
                theirs.committer().expect("committer").seconds(),
                "{id}"
            );
        }
        assert!(merges > 100, "the history has merges: {merges}");
        // An object the graph does not hold is the object database's answer (here: none).
        let absent =
            gix::ObjectId::from_hex(b"00000000000000000000000000000000000000aa").expect("hex");
        assert!(graph_commits
            .try_find(&absent, &mut buf)
            .expect("no error")
            .is_none());
    }
}
