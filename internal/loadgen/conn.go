package loadgen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// rawConn is one keep-alive HTTP/1.1 connection of the load generator. It writes
// requests that are already encoded, whole, and reads the answer's status and body with
// no allocation per request. It is not net/http's client on purpose: that one spends CPU
// on goroutine hand-offs and header maps for every request (docs/performance-analysis.md
// has the figure), which the load generator would take from the server it measures when
// both share the cores.
//
// A rawConn is used by one goroutine; close may be called from another one to abort.
type rawConn struct {
	addr    string
	timeout time.Duration

	mu     sync.Mutex // guards c against close from another goroutine
	c      net.Conn
	closed bool

	br   *bufio.Reader
	body []byte // the last answer's body, reused
	used bool   // the connection has answered a request before
}

func newRawConn(addr string, timeout time.Duration) *rawConn {
	return &rawConn{addr: addr, timeout: timeout}
}

// errAborted is returned once close was called.
var errAborted = errors.New("connection closed by the load generator")

// do sends the encoded request req and returns the answer's status code and body (valid
// until the next call). An answer that a reused connection closed before sending a byte
// (the server dropped an idle connection) is retried once on a new connection; the load
// generator's writes are safe to repeat (event ids deduplicate them).
func (rc *rawConn) do(req []byte) (status int, body []byte, err error) {
	status, body, sent, err := rc.try(req)
	if err != nil && !sent && rc.used {
		rc.reset()
		status, body, _, err = rc.try(req)
	}
	if err != nil {
		rc.reset()
		return 0, nil, err
	}
	rc.used = true
	return status, body, nil
}

// try sends req once; sent reports whether any byte of an answer arrived.
func (rc *rawConn) try(req []byte) (status int, body []byte, sent bool, err error) {
	c, err := rc.conn()
	if err != nil {
		return 0, nil, false, err
	}
	if rc.timeout > 0 {
		c.SetDeadline(time.Now().Add(rc.timeout))
	}
	if _, err := c.Write(req); err != nil {
		return 0, nil, false, err
	}
	status, closeAfter, err := rc.readHead()
	if err != nil {
		return 0, nil, status != 0, err
	}
	if closeAfter {
		defer rc.reset()
	}
	return status, rc.body, true, nil
}

// conn returns the open connection, dialling a new one when there is none.
func (rc *rawConn) conn() (net.Conn, error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.closed {
		return nil, errAborted
	}
	if rc.c != nil {
		return rc.c, nil
	}
	c, err := net.DialTimeout("tcp", rc.addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	rc.c = c
	rc.used = false
	if rc.br == nil {
		rc.br = bufio.NewReaderSize(c, 16<<10)
	} else {
		rc.br.Reset(c)
	}
	return c, nil
}

// reset drops the connection; the next request dials a new one.
func (rc *rawConn) reset() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.c != nil {
		rc.c.Close()
		rc.c = nil
	}
}

// close aborts a request in flight and makes every later one fail with errAborted.
func (rc *rawConn) close() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.closed = true
	if rc.c != nil {
		rc.c.Close()
		rc.c = nil
	}
}

// readHead reads an answer: its status line, its headers and its body (into rc.body).
// closeAfter reports that the server closes the connection after it.
func (rc *rawConn) readHead() (status int, closeAfter bool, err error) {
	line, err := rc.br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	length, chunked := -1, false
	closeAfter = line[7] == '0' // HTTP/1.0
	for {
		line, err := rc.br.ReadSlice('\n')
		if err != nil {
			return status, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "content-length"):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return status, false, fmt.Errorf("bad Content-Length %q", value)
			}
		case asciiEqualFold(name, "transfer-encoding"):
			chunked = asciiEqualFold(value, "chunked")
		case asciiEqualFold(name, "connection"):
			closeAfter = asciiEqualFold(value, "close")
		}
	}
	rc.body = rc.body[:0]
	switch {
	case status < 200 || status == 204 || status == 304:
	case chunked:
		err = rc.readChunked()
	case length >= 0:
		rc.body = grow(rc.body, length)
		_, err = io.ReadFull(rc.br, rc.body)
	default: // no length: the body runs to the end of the connection
		var b bytes.Buffer
		_, err = b.ReadFrom(rc.br)
		rc.body, closeAfter = append(rc.body, b.Bytes()...), true
	}
	return status, closeAfter, err
}

// readChunked reads a chunked body into rc.body.
func (rc *rawConn) readChunked() error {
	for {
		line, err := rc.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 32)
		if err != nil || n < 0 {
			return fmt.Errorf("bad chunk size %q", line)
		}
		if n == 0 { // trailers, then the blank line
			for {
				line, err := rc.br.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return nil
				}
			}
		}
		start := len(rc.body)
		rc.body = grow(rc.body, start+int(n))
		if _, err := io.ReadFull(rc.br, rc.body[start:]); err != nil {
			return err
		}
		if _, err := rc.br.Discard(2); err != nil { // the chunk's CRLF
			return err
		}
	}
}

// grow returns b resized to n bytes, reallocated only when its capacity is too small.
func grow(b []byte, n int) []byte {
	if cap(b) < n {
		nb := make([]byte, n, max(n, 2*cap(b)))
		copy(nb, b)
		return nb
	}
	return b[:n]
}

// asciiEqualFold reports whether b equals the lower-case ASCII s, ignoring case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
