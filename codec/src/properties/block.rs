//! [`Props<T>`]: the property block a packet holds, allocated only when it has properties.
//!
//! Most packets on the wire carry no properties (all of MQTT 3.x and most MQTT 5 traffic),
//! yet the property structs are large: PUBLISH's is 160 bytes, CONNACK's over 200. Stored
//! inline they made every `Packet` 264 bytes, and building, moving and dropping that value
//! was the largest single cost of decoding a small PUBLISH. `Props<T>` is one pointer. It
//! dereferences to the plain struct, so `publish.properties.topic_alias` reads the same
//! whether or not a block is present, and assigning a field allocates the block on first use.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

use super::{
    AckProperties, AuthProperties, ConnAckProperties, ConnectProperties, DisconnectProperties,
    PublishProperties, SubscribeProperties, UnsubscribeProperties, WillProperties,
};

/// One of the property structs of this crate (sealed: implemented for those only).
pub trait PropertyBlock: Default + Clone + PartialEq + sealed::Sealed + 'static {
    /// `true` when no property is set (what MQTT 3.x packets must carry). Spelled out per
    /// struct: comparing with `Self::default()` built and dropped a value on every encode.
    fn is_empty(&self) -> bool;

    /// The shared empty value an absent block dereferences to.
    fn empty() -> &'static Self;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! blocks {
    ($($ty:ty),* $(,)?) => {$(
        impl sealed::Sealed for $ty {}

        impl PropertyBlock for $ty {
            fn is_empty(&self) -> bool {
                <$ty as super::PropWrite>::all_absent(self)
            }

            fn empty() -> &'static Self {
                static EMPTY: OnceLock<$ty> = OnceLock::new();
                EMPTY.get_or_init(<$ty>::default)
            }
        }
    )*};
}

blocks!(
    ConnectProperties,
    WillProperties,
    ConnAckProperties,
    PublishProperties,
    AckProperties,
    SubscribeProperties,
    UnsubscribeProperties,
    DisconnectProperties,
    AuthProperties,
);

/// A packet's properties: reads see `T::default()` when the packet has none; the first
/// mutable access allocates the block.
///
/// ```
/// use tern_codec::{Props, PublishProperties};
///
/// let mut p: Props<PublishProperties> = Props::default();
/// assert_eq!(p.message_expiry_interval, None); // no block allocated
/// p.message_expiry_interval = Some(60); // allocated here
/// assert_eq!(p.into_inner().message_expiry_interval, Some(60));
/// ```
pub struct Props<T: PropertyBlock>(Option<Box<T>>);

impl<T: PropertyBlock> Props<T> {
    /// No properties (no allocation).
    pub const fn none() -> Props<T> {
        Props(None)
    }

    /// The allocated block, if any (it may still be empty).
    pub(crate) fn block(&self) -> Option<&T> {
        self.0.as_deref()
    }

    /// The properties by value (`T::default()` when there are none).
    pub fn into_inner(self) -> T {
        self.0.map(|b| *b).unwrap_or_default()
    }

    /// The allocated block, if any; `None` also when every property is absent.
    pub fn into_box(self) -> Option<Box<T>> {
        self.0.filter(|b| !b.is_empty())
    }
}

impl<T: PropertyBlock> Default for Props<T> {
    fn default() -> Props<T> {
        Props(None)
    }
}

/// Keeps no allocation for an empty struct, so `T::default().into()` costs nothing.
impl<T: PropertyBlock> From<T> for Props<T> {
    fn from(value: T) -> Props<T> {
        Props((!value.is_empty()).then(|| Box::new(value)))
    }
}

impl<T: PropertyBlock> From<Box<T>> for Props<T> {
    fn from(value: Box<T>) -> Props<T> {
        Props((!value.is_empty()).then_some(value))
    }
}

impl<T: PropertyBlock> Deref for Props<T> {
    type Target = T;

    fn deref(&self) -> &T {
        match &self.0 {
            Some(block) => block,
            None => T::empty(),
        }
    }
}

impl<T: PropertyBlock> DerefMut for Props<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.get_or_insert_with(Box::default)
    }
}

impl<T: PropertyBlock> Clone for Props<T> {
    fn clone(&self) -> Props<T> {
        Props(self.0.clone())
    }
}

/// Equal when the properties are: an absent block equals an allocated empty one.
impl<T: PropertyBlock> PartialEq for Props<T> {
    fn eq(&self, other: &Props<T>) -> bool {
        **self == **other
    }
}

impl<T: PropertyBlock + Eq> Eq for Props<T> {}

impl<T: PropertyBlock + fmt::Debug> fmt::Debug for Props<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_block_reads_as_default_and_allocates_on_write() {
        let mut p: Props<AckProperties> = Props::none();
        assert!(p.is_empty());
        assert!(p.0.is_none());
        p.reason_string = Some("why".into());
        assert!(p.0.is_some());
        assert_eq!(p.reason_string.as_deref(), Some("why"));
    }

    #[test]
    fn empty_values_are_not_boxed_and_compare_equal() {
        let p: Props<PublishProperties> = PublishProperties::default().into();
        assert!(p.0.is_none());
        let mut allocated: Props<PublishProperties> = Props::none();
        let _ = &mut allocated.topic_alias; // allocates an empty block
        assert!(allocated.0.is_some());
        assert_eq!(p, allocated);
        assert_eq!(allocated.into_box(), None);
    }
}
