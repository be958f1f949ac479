package httpserve

import (
	"bytes"
	"net"
	"net/http"
	"strconv"

	json "github.com/goccy/go-json"
)

// JSONProtocolErrors wraps ln so that the answers Go's HTTP server writes by itself to a
// request it cannot parse, before any handler runs, are JSON like every other answer:
// {"error": "<sentence>"} with the same status. net/http has no hook for them (golang/go
// issue 25116): it writes each as one Write on the connection, of a fixed shape,
//
//	HTTP/1.1 <code> <text>\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n<text>
//
// for a bad request line or header (400), headers past MaxHeaderBytes (431), a
// Transfer-Encoding it does not know (501) and an HTTP version it does not serve (505),
// and then closes the connection. The wrapped connections replace a Write of exactly that
// shape. No handler's answer has it: the server writes a Date header after Connection in
// every answer it frames, and a handler's body would have to be exactly those bytes in
// one flush. What stays out of reach: an Expect header other than 100-continue gets Go's
// 417 with an empty body (framed like a handler's answer); a connection that times out or
// closes before a whole request arrives gets no answer at all.
func JSONProtocolErrors(ln net.Listener) net.Listener { return jsonErrorsListener{ln} }

type jsonErrorsListener struct{ net.Listener }

func (l jsonErrorsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &jsonErrorsConn{c}, nil
}

// jsonErrorsConn is a connection whose canned protocol errors are rewritten as JSON.
type jsonErrorsConn struct{ net.Conn }

// cannedHeaders follow the status line of every answer net/http writes without a handler.
const cannedHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

func (c *jsonErrorsConn) Write(p []byte) (int, error) {
	if code, detail, ok := parseCanned(p); ok {
		if _, err := c.Conn.Write(protocolError(code, detail)); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// CloseWrite half-closes the connection when it can, as net/http does after a 431 so that
// the client reads the answer before the connection goes.
func (c *jsonErrorsConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// parseCanned reports whether p is a whole answer of net/http's own, and its status and
// the detail after "<code> <status text>: " in its status line ("missing required Host
// header"), if any.
func parseCanned(p []byte) (code int, detail string, ok bool) {
	const prefix = "HTTP/1.1 "
	if len(p) > 512 || !bytes.HasPrefix(p, []byte(prefix)) || len(p) < len(prefix)+4 {
		return 0, "", false
	}
	code, err := strconv.Atoi(string(p[len(prefix) : len(prefix)+3]))
	if err != nil || code < 400 || code > 599 || p[len(prefix)+3] != ' ' {
		return 0, "", false
	}
	line, rest, found := bytes.Cut(p[len(prefix)+4:], []byte("\r\n"))
	if !found {
		return 0, "", false
	}
	rest = p[len(p)-len(rest)-2:] // from the "\r\n" that ends the status line
	body, isCanned := bytes.CutPrefix(rest, []byte(cannedHeaders))
	if !isCanned || bytes.ContainsAny(body, "\r\n") {
		return 0, "", false
	}
	if _, d, hasDetail := bytes.Cut(line, []byte(": ")); hasDetail {
		detail = string(d)
	}
	return code, detail, true
}

// protocolError is the JSON answer that replaces net/http's text for code.
func protocolError(code int, detail string) []byte {
	var msg string
	switch code {
	case http.StatusBadRequest:
		msg = "The request is not valid HTTP/1.1."
		if detail != "" {
			msg = "The request is not valid HTTP/1.1: " + detail + "."
		}
	case http.StatusRequestHeaderFieldsTooLarge:
		msg = "The request's headers are larger than the server accepts."
	case http.StatusNotImplemented:
		msg = "The request's Transfer-Encoding is not supported: send chunked or none."
	case http.StatusHTTPVersionNotSupported:
		msg = "The request's HTTP version is not supported: send HTTP/1.1 (or HTTP/1.0)."
	default:
		msg = http.StatusText(code) + "."
	}
	body, _ := json.Marshal(map[string]string{"error": msg})
	body = append(body, '\n')
	b := make([]byte, 0, 128+len(body))
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(code)...)
	b = append(b, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\nConnection: close\r\n\r\n"...)
	return append(b, body...)
}
