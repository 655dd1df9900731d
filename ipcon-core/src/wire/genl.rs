//! The generic netlink header (`struct genlmsghdr`): command, version, reserved.
use crate::error::WireError;

/// Size of the generic netlink header.
pub const HEADER_LEN: usize = 4;

/// A view of a generic netlink header followed by attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenlPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> GenlPacket<T> {
    /// Wraps a buffer without checking it (short buffers read as zeros).
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a netlink payload and checks that the generic header fits.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the header fits.
    pub fn check_len(&self) -> Result<(), WireError> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        Ok(())
    }

    /// The command.
    pub fn command(&self) -> u8 {
        self.buffer.as_ref().first().copied().unwrap_or(0)
    }

    /// The family-specific version.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref().get(1).copied().unwrap_or(0)
    }

    /// The attributes after the header.
    pub fn attributes(&self) -> &[u8] {
        self.buffer.as_ref().get(HEADER_LEN..).unwrap_or(&[])
    }
}

/// The validated fields of a generic netlink header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GenlHeaderRepr {
    /// Command.
    pub command: u8,
    /// Version.
    pub version: u8,
}

impl GenlHeaderRepr {
    /// Reads a checked header.
    pub fn parse<T: AsRef<[u8]>>(packet: &GenlPacket<T>) -> Self {
        Self {
            command: packet.command(),
            version: packet.version(),
        }
    }

    /// Writes the header into `buf`, returning its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let b = buf.get_mut(..HEADER_LEN).ok_or(WireError::BufferTooSmall)?;
        b.copy_from_slice(&[self.command, self.version, 0, 0]);
        Ok(HEADER_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_short() {
        let mut b = [0xffu8; 6];
        GenlHeaderRepr {
            command: 3,
            version: 2,
        }
        .emit(&mut b)
        .unwrap();
        assert_eq!(&b[..4], &[3, 2, 0, 0]);
        let p = GenlPacket::new_checked(&b[..]).unwrap();
        assert_eq!(
            GenlHeaderRepr::parse(&p),
            GenlHeaderRepr {
                command: 3,
                version: 2
            }
        );
        assert_eq!(p.attributes(), &[0xff, 0xff]);
        assert_eq!(
            GenlPacket::new_checked(&b[..3]).err(),
            Some(WireError::Truncated)
        );
        assert_eq!(
            GenlHeaderRepr {
                command: 1,
                version: 1
            }
            .emit(&mut b[..3]),
            Err(WireError::BufferTooSmall)
        );
    }
}
