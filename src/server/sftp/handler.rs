//! The builtin SFTP server's operations: `russh-sftp` parses each request
//! and calls one of these, which does the file system call as the account
//! and answers with data, a handle, attributes, names or a status.

use std::collections::HashMap;
use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use russh_sftp::extensions::{ExpandPathExtension, FsyncExtension, HardlinkExtension, LimitsExtension};
use russh_sftp::protocol::{
    Attrs, Data, ExtendedReply, File as Entry, FileAttributes, Handle, Name, OpenFlags, Packet, Status,
    StatusCode, Version,
};
use russh_sftp::server::StatusReply;

use super::MAX_PACKET;
use super::attrs::{self, Target};
use super::fs::{self, Handles, Open, blocking};

/// Largest READ answered and WRITE advertised: a packet less its header
/// room, as OpenSSH's sftp-server.
const MAX_DATA: u32 = MAX_PACKET - 1024;

/// The extensions served, as announced in VERSION.
const EXTENSIONS: [&str; 5] = [
    "posix-rename@openssh.com",
    "hardlink@openssh.com",
    "fsync@openssh.com",
    "limits@openssh.com",
    "expand-path@openssh.com",
];

/// One SFTP session's state.
pub struct Sftp {
    home: PathBuf,
    handles: Handles,
}

impl Sftp {
    pub fn new(home: PathBuf) -> Self {
        Self {
            home,
            handles: Handles::default(),
        }
    }

    fn path(&self, path: &str) -> PathBuf {
        fs::resolve(&self.home, path)
    }
}

fn ok(id: u32) -> Status {
    Status {
        id,
        status_code: StatusCode::Ok,
        error_message: "Success".to_string(),
        language_tag: "en-US".to_string(),
    }
}

fn one_name(id: u32, path: PathBuf) -> Name {
    Name {
        id,
        files: vec![Entry::dummy(path.to_string_lossy().into_owned())],
    }
}

fn decode<T: serde::de::DeserializeOwned>(data: Vec<u8>) -> Result<T, StatusReply> {
    russh_sftp::de::from_bytes(&mut Bytes::from(data)).map_err(|_| StatusCode::BadMessage.into())
}

impl russh_sftp::server::Handler for Sftp {
    type Error = StatusReply;

    fn unimplemented(&self) -> StatusReply {
        StatusCode::OpUnsupported.into()
    }

    async fn init(&mut self, _version: u32, _ext: HashMap<String, String>) -> Result<Version, StatusReply> {
        let mut version = Version::new();
        version.extensions = EXTENSIONS
            .iter()
            .map(|name| (name.to_string(), "1".to_string()))
            .collect();
        Ok(version)
    }

    async fn open(
        &mut self,
        id: u32,
        filename: String,
        pflags: OpenFlags,
        attrs: FileAttributes,
    ) -> Result<Handle, StatusReply> {
        let path = self.path(&filename);
        let mode = attrs.permissions.map_or(0o666, |mode| mode & 0o7777);
        let mut options = OpenOptions::from(pflags);
        options.mode(mode);
        let file = blocking(move || options.open(path)).await?;
        let handle = self.handles.insert(Open::File(Arc::new(file)))?;
        Ok(Handle { id, handle })
    }

    async fn close(&mut self, id: u32, handle: String) -> Result<Status, StatusReply> {
        self.handles.close(&handle)?;
        Ok(ok(id))
    }

    async fn read(&mut self, id: u32, handle: String, offset: u64, len: u32) -> Result<Data, StatusReply> {
        let file = self.handles.file(&handle)?;
        let len = len.min(MAX_DATA) as usize;
        let data = blocking(move || {
            let mut buf = vec![0; len];
            let n = file.read_at(&mut buf, offset)?;
            buf.truncate(n);
            Ok(buf)
        })
        .await?;
        if data.is_empty() && len > 0 {
            return Err(StatusCode::Eof.into());
        }
        Ok(Data { id, data })
    }

    async fn write(
        &mut self,
        id: u32,
        handle: String,
        offset: u64,
        data: Vec<u8>,
    ) -> Result<Status, StatusReply> {
        let file = self.handles.file(&handle)?;
        blocking(move || file.write_all_at(&data, offset)).await?;
        Ok(ok(id))
    }

    async fn lstat(&mut self, id: u32, path: String) -> Result<Attrs, StatusReply> {
        let path = self.path(&path);
        let meta = blocking(move || std::fs::symlink_metadata(path)).await?;
        Ok(Attrs {
            id,
            attrs: attrs::from_metadata(&meta),
        })
    }

    async fn stat(&mut self, id: u32, path: String) -> Result<Attrs, StatusReply> {
        let path = self.path(&path);
        let meta = blocking(move || std::fs::metadata(path)).await?;
        Ok(Attrs {
            id,
            attrs: attrs::from_metadata(&meta),
        })
    }

    async fn fstat(&mut self, id: u32, handle: String) -> Result<Attrs, StatusReply> {
        let file = self.handles.file(&handle)?;
        let meta = blocking(move || file.metadata()).await?;
        Ok(Attrs {
            id,
            attrs: attrs::from_metadata(&meta),
        })
    }

    async fn setstat(&mut self, id: u32, path: String, attrs: FileAttributes) -> Result<Status, StatusReply> {
        let path = self.path(&path);
        blocking(move || attrs::apply(Target::Path(&path), &attrs)).await?;
        Ok(ok(id))
    }

    async fn fsetstat(
        &mut self,
        id: u32,
        handle: String,
        attrs: FileAttributes,
    ) -> Result<Status, StatusReply> {
        let file = self.handles.file(&handle)?;
        blocking(move || attrs::apply(Target::File(&file), &attrs)).await?;
        Ok(ok(id))
    }

    async fn opendir(&mut self, id: u32, path: String) -> Result<Handle, StatusReply> {
        let path = self.path(&path);
        let dir = blocking(move || std::fs::read_dir(path)).await?;
        let handle = self.handles.insert(Open::Dir(Arc::new(Mutex::new(dir))))?;
        Ok(Handle { id, handle })
    }

    async fn readdir(&mut self, id: u32, handle: String) -> Result<Name, StatusReply> {
        let dir = self.handles.dir(&handle)?;
        let files = blocking(move || fs::next_entries(&dir)).await?;
        if files.is_empty() {
            return Err(StatusCode::Eof.into());
        }
        Ok(Name { id, files })
    }

    async fn remove(&mut self, id: u32, filename: String) -> Result<Status, StatusReply> {
        let path = self.path(&filename);
        blocking(move || std::fs::remove_file(path)).await?;
        Ok(ok(id))
    }

    async fn mkdir(&mut self, id: u32, path: String, attrs: FileAttributes) -> Result<Status, StatusReply> {
        let path = self.path(&path);
        let mode = attrs.permissions.map_or(0o777, |mode| mode & 0o7777);
        blocking(move || DirBuilder::new().mode(mode).create(path)).await?;
        Ok(ok(id))
    }

    async fn rmdir(&mut self, id: u32, path: String) -> Result<Status, StatusReply> {
        let path = self.path(&path);
        blocking(move || std::fs::remove_dir(path)).await?;
        Ok(ok(id))
    }

    async fn realpath(&mut self, id: u32, path: String) -> Result<Name, StatusReply> {
        let home = self.home.clone();
        let path = blocking(move || fs::realpath(&home, &path)).await?;
        Ok(one_name(id, path))
    }

    /// SFTP version 3's RENAME does not replace an existing file (OpenSSH's
    /// clients use `posix-rename@openssh.com` for that).
    async fn rename(&mut self, id: u32, oldpath: String, newpath: String) -> Result<Status, StatusReply> {
        let (from, to) = (self.path(&oldpath), self.path(&newpath));
        blocking(move || match std::fs::symlink_metadata(&to) {
            Ok(_) => Err(std::io::Error::from_raw_os_error(libc::EEXIST)),
            Err(_) => std::fs::rename(from, to),
        })
        .await?;
        Ok(ok(id))
    }

    async fn readlink(&mut self, id: u32, path: String) -> Result<Name, StatusReply> {
        let path = self.path(&path);
        let target = blocking(move || std::fs::read_link(path)).await?;
        Ok(one_name(id, target))
    }

    /// OpenSSH sends SYMLINK's two paths in the reverse of the draft's
    /// order (target first) and every common client follows it, so the
    /// crate's `linkpath` is the target here, as in OpenSSH's sftp-server.
    async fn symlink(
        &mut self,
        id: u32,
        linkpath: String,
        targetpath: String,
    ) -> Result<Status, StatusReply> {
        let (target, link) = (PathBuf::from(linkpath), self.path(&targetpath));
        blocking(move || std::os::unix::fs::symlink(target, link)).await?;
        Ok(ok(id))
    }

    async fn extended(&mut self, id: u32, request: String, data: Vec<u8>) -> Result<Packet, StatusReply> {
        match request.as_str() {
            "posix-rename@openssh.com" => {
                let HardlinkExtension { oldpath, newpath } = decode(data)?;
                let (from, to) = (self.path(&oldpath), self.path(&newpath));
                blocking(move || std::fs::rename(from, to)).await?;
                Ok(ok(id).into())
            }
            "hardlink@openssh.com" => {
                let HardlinkExtension { oldpath, newpath } = decode(data)?;
                let (from, to) = (self.path(&oldpath), self.path(&newpath));
                blocking(move || std::fs::hard_link(from, to)).await?;
                Ok(ok(id).into())
            }
            "fsync@openssh.com" => {
                let FsyncExtension { handle } = decode(data)?;
                let file = self.handles.file(&handle)?;
                blocking(move || file.sync_all()).await?;
                Ok(ok(id).into())
            }
            "limits@openssh.com" => limits(id),
            "expand-path@openssh.com" => {
                let ExpandPathExtension { path } = decode(data)?;
                let home = self.home.clone();
                let path = blocking(move || fs::expand(&home, &path)).await?;
                Ok(one_name(id, path).into())
            }
            _ => Err(StatusCode::OpUnsupported.into()),
        }
    }
}

/// `limits@openssh.com`: the packet, read and write sizes this server
/// takes, and its cap on open handles.
fn limits(id: u32) -> Result<Packet, StatusReply> {
    let limits = LimitsExtension {
        max_packet_len: u64::from(MAX_PACKET),
        max_read_len: u64::from(MAX_DATA),
        max_write_len: u64::from(MAX_DATA),
        max_open_handles: fs::MAX_HANDLES as u64,
    };
    let data = russh_sftp::ser::to_bytes(&limits).map_err(|_| StatusReply::from(StatusCode::Failure))?;
    Ok(ExtendedReply {
        id,
        data: data.to_vec(),
    }
    .into())
}
