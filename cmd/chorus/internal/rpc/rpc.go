// Package rpc is the control protocol between chorus commands and a running
// `chorus node`, over the unix socket DIR/chorus.sock. The socket is created with mode
// 0600 inside the 0700 data directory, and on Linux the server also refuses peers
// running as another user (SO_PEERCRED).
//
// One request per connection, newline-delimited JSON:
//
//	→ {"method":"send","params":{"group":"team","text":"hi"}}
//	← {"result":{...}}                                          success
//	← {"error":{"code":"unknown_group","message":"..."}}        failure
//
// Methods and their params are those of app.Service.Dispatch (status, id, contact.add,
// contact.list, group.create, group.add, group.remove, group.leave, group.rename,
// group.describe, group.list, group.members, group.info, send, read, devices.list,
// devices.link, devices.revoke, devices.remove; app.MethodNames lists them). The method "watch" (params {"group":"..."} or {})
// answers {"result":null} and then streams {"event":{...}} lines (app.EventView) until
// either side closes the connection.
package rpc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/chorus-im/chorus/cmd/chorus/internal/app"
)

// MaxRequest bounds a request line.
const MaxRequest = 1 << 20

// Request is one call.
type Request struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params,omitempty"`
}

// Response answers a Request; a watch stream continues with Event lines.
type Response struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  *app.Error      `json:"error,omitempty"`
	Event  *app.EventView  `json:"event,omitempty"`
}

// Listen creates the socket at path with owner-only permissions, replacing a stale
// socket file left by a crashed node (the caller holds the data directory lock).
func Listen(path string) (net.Listener, error) {
	if _, err := os.Lstat(path); err == nil {
		if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
			c.Close()
			return nil, fmt.Errorf("rpc: a node is already serving %s", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(true)
	return ln, nil
}

// Server serves a Service on a listener.
type Server struct {
	S   *app.Service
	Log *slog.Logger // nil: discard

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// Serve accepts connections until ctx ends, then closes the listener and every open
// connection and waits for their handlers.
func (sv *Server) Serve(ctx context.Context, ln net.Listener) error {
	if sv.Log == nil {
		sv.Log = slog.New(slog.DiscardHandler)
	}
	sv.conns = map[net.Conn]struct{}{}
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		sv.mu.Lock()
		for c := range sv.conns {
			c.Close()
		}
		sv.mu.Unlock()
	})
	defer stop()
	var err error
	for {
		var c net.Conn
		c, err = ln.Accept()
		if err != nil {
			break
		}
		if !sameUser(c) {
			sv.Log.Warn("rpc: refused a connection from another user")
			c.Close()
			continue
		}
		sv.mu.Lock()
		sv.conns[c] = struct{}{}
		sv.mu.Unlock()
		sv.wg.Add(1)
		go func() {
			defer sv.wg.Done()
			sv.handle(ctx, c)
			sv.mu.Lock()
			delete(sv.conns, c)
			sv.mu.Unlock()
			c.Close()
		}()
	}
	ln.Close()
	sv.mu.Lock()
	for c := range sv.conns {
		c.Close()
	}
	sv.mu.Unlock()
	sv.wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (sv *Server) handle(ctx context.Context, c net.Conn) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := bufio.NewReaderSize(io.LimitReader(c, MaxRequest), 4096)
	line, err := r.ReadBytes('\n')
	if err != nil && len(line) == 0 {
		return
	}
	enc := json.NewEncoder(c)
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		_ = enc.Encode(Response{Error: app.Errorf(app.CodeUsage, "bad request: %v", err)})
		return
	}
	if req.Method == "watch" {
		sv.watch(ctx, cancel, c, enc, req.Params)
		return
	}
	res, err := sv.S.Dispatch(ctx, req.Method, req.Params)
	if err != nil {
		e := app.Classify(err)
		sv.Log.Debug("rpc: call failed", "method", req.Method, "code", e.Code)
		_ = enc.Encode(Response{Error: e})
		return
	}
	b, err := json.Marshal(res)
	if err != nil {
		_ = enc.Encode(Response{Error: app.Classify(err)})
		return
	}
	_ = enc.Encode(Response{Result: b})
}

func (sv *Server) watch(ctx context.Context, cancel context.CancelFunc, c net.Conn, enc *json.Encoder, params json.RawMessage) {
	var p app.GroupParams
	if len(params) > 0 {
		if err := json.Unmarshal(params, &p); err != nil {
			_ = enc.Encode(Response{Error: app.Errorf(app.CodeUsage, "bad parameters for watch: %v", err)})
			return
		}
	}
	events, err := sv.S.Watch(ctx, p.Group)
	if err != nil {
		_ = enc.Encode(Response{Error: app.Classify(err)})
		return
	}
	if err := enc.Encode(Response{Result: json.RawMessage("null")}); err != nil {
		return
	}
	// The client closing its end ends the stream.
	go func() {
		_, _ = io.Copy(io.Discard, c)
		cancel()
	}()
	for ev := range events {
		if err := enc.Encode(Response{Event: &ev}); err != nil {
			return
		}
	}
}

// ErrNoNode means no node is listening on the socket.
var ErrNoNode = errors.New("rpc: no node running")

// Client calls a node over its socket.
type Client struct{ Path string }

// dial connects to the node socket after checking that it is a socket owned by us (not
// through a symlink) and, where the system tells, that its server runs as our user.
func (cl Client) dial(ctx context.Context) (net.Conn, error) {
	if err := checkSocket(cl.Path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNoNode
		}
		return nil, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", cl.Path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || isRefused(err) {
			return nil, ErrNoNode
		}
		return nil, err
	}
	if !sameUser(c) {
		c.Close()
		return nil, fmt.Errorf("%w: %s is served by another user's process", ErrForeignSocket, cl.Path)
	}
	return c, nil
}

// Running reports whether a node answers on the socket.
func (cl Client) Running(ctx context.Context) bool {
	c, err := cl.dial(ctx)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Call runs method with params and decodes the result into out (may be nil).
// Failures reported by the node are *app.Error.
func (cl Client) Call(ctx context.Context, method string, params, out any) error {
	c, err := cl.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	resp, _, err := roundTrip(c, method, params)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	if out != nil && len(resp.Result) > 0 {
		return json.Unmarshal(resp.Result, out)
	}
	return nil
}

func roundTrip(c net.Conn, method string, params any) (*Response, *json.Decoder, error) {
	var raw json.RawMessage
	if params != nil {
		b, err := json.Marshal(params)
		if err != nil {
			return nil, nil, err
		}
		raw = b
	}
	if err := json.NewEncoder(c).Encode(Request{Method: method, Params: raw}); err != nil {
		return nil, nil, err
	}
	dec := json.NewDecoder(c)
	var resp Response
	if err := dec.Decode(&resp); err != nil {
		return nil, nil, fmt.Errorf("rpc: node closed the connection: %w", err)
	}
	if resp.Error != nil {
		return nil, nil, resp.Error
	}
	return &resp, dec, nil
}

// Watch streams events of group ("": all) until ctx ends or the node goes away.
func (cl Client) Watch(ctx context.Context, group string) (<-chan app.EventView, error) {
	c, err := cl.dial(ctx)
	if err != nil {
		return nil, err
	}
	_, dec, err := roundTrip(c, "watch", app.GroupParams{Group: group})
	if err != nil {
		c.Close()
		return nil, err
	}
	out := make(chan app.EventView, 64)
	stop := context.AfterFunc(ctx, func() { c.Close() })
	go func() {
		defer close(out)
		defer stop()
		defer c.Close()
		for {
			var r Response
			if err := dec.Decode(&r); err != nil || r.Event == nil {
				return
			}
			select {
			case out <- *r.Event:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
