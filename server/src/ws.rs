//! WebSocket ⇄ byte stream adapter (section 6 of MQTT 3.1.1 and 5.0).
//!
//! The session code speaks `AsyncRead`/`AsyncWrite`; this module makes an axum `WebSocket`
//! look like one. The WebSocket is treated as a byte stream: a packet may span frames and a
//! frame may carry several packets ([MQTT-6.0.0-2]); the reader makes no assumption about
//! frame alignment. Only binary frames carry MQTT data: a text frame closes the connection
//! [MQTT-6.0.0-1].

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::extract::ws::{Message, WebSocket};
use bytes::{Buf, Bytes};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{Sink, Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Splits an upgraded WebSocket into a reader and a writer half.
pub fn split(socket: WebSocket) -> (WsReader, WsWriter) {
    let (sink, stream) = socket.split();
    (
        WsReader {
            stream,
            current: Bytes::new(),
        },
        WsWriter { sink },
    )
}

/// Reading half: the payloads of binary frames, concatenated.
pub struct WsReader {
    stream: SplitStream<WebSocket>,
    current: Bytes,
}

impl AsyncRead for WsReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.current.is_empty() {
                let n = this.current.len().min(buf.remaining());
                buf.put_slice(&this.current[..n]);
                this.current.advance(n);
                return Poll::Ready(Ok(()));
            }
            match ready!(Pin::new(&mut this.stream).poll_next(cx)) {
                Some(Ok(Message::Binary(data))) => this.current = data,
                Some(Ok(Message::Text(_))) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "[MQTT-6.0.0-1] text frame received; MQTT data must be sent in binary frames",
                    )));
                }
                // Pings are answered by the WebSocket layer itself.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                // A Close frame or the end of the stream is end of file.
                Some(Ok(Message::Close(_))) | None => return Poll::Ready(Ok(())),
                Some(Err(e)) => return Poll::Ready(Err(io::Error::other(e))),
            }
        }
    }
}

/// Writing half: every write becomes one binary frame.
pub struct WsWriter {
    sink: SplitSink<WebSocket, Message>,
}

fn to_io(e: axum::Error) -> io::Error {
    io::Error::other(e)
}

impl AsyncWrite for WsWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(Pin::new(&mut this.sink).poll_ready(cx)).map_err(to_io)?;
        Pin::new(&mut this.sink)
            .start_send(Message::Binary(Bytes::copy_from_slice(buf)))
            .map_err(to_io)?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().sink)
            .poll_flush(cx)
            .map_err(to_io)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().sink)
            .poll_close(cx)
            .map_err(to_io)
    }
}
