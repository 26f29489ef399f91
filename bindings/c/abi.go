// Command c is the C ABI of Chorus, built as a library:
//
//	go build -buildmode=c-archive -o libchorus.a ./bindings/c   # or -buildmode=c-shared
//
// The exported functions are declared, with their contracts, in chorus.h (this
// directory); the preamble below includes it, so a Go signature that disagrees with the
// header fails the build. Structured values cross the boundary as JSON (json.go; spec
// section "bindings"). Every export recovers panics and reports them as
// CHORUS_ERR_INTERNAL.
package main

/*
#include <stdlib.h>
#include <pthread.h>
#include "chorus.h"

typedef const char chorus_cchar;

*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/cgo"
	"time"
	"unsafe"
)

func main() {}

// Error codes (chorus.h).
const (
	codeOK                   = C.CHORUS_OK
	codeInvalidArgument      = C.CHORUS_ERR_INVALID_ARGUMENT
	codeInvalidHandle        = C.CHORUS_ERR_INVALID_HANDLE
	codeClosed               = C.CHORUS_ERR_CLOSED
	codeTimeout              = C.CHORUS_ERR_TIMEOUT
	codeNoAccount            = C.CHORUS_ERR_NO_ACCOUNT
	codeAccountExists        = C.CHORUS_ERR_ACCOUNT_EXISTS
	codeUnknownGroup         = C.CHORUS_ERR_UNKNOWN_GROUP
	codeNotMember            = C.CHORUS_ERR_NOT_MEMBER
	codeNotAdmin             = C.CHORUS_ERR_NOT_ADMIN
	codeUnknownContact       = C.CHORUS_ERR_UNKNOWN_CONTACT
	codeBadContactCode       = C.CHORUS_ERR_BAD_CONTACT_CODE
	codeBadLinkCode          = C.CHORUS_ERR_BAD_LINK_CODE
	codeInvalidContent       = C.CHORUS_ERR_INVALID_CONTENT
	codeNotAccountHolder     = C.CHORUS_ERR_NOT_ACCOUNT_HOLDER
	codeTooManyInstallations = C.CHORUS_ERR_TOO_MANY_INSTALLATIONS
	codeInstallationRevoked  = C.CHORUS_ERR_INSTALLATION_REVOKED
	codeUnknownInstallation  = C.CHORUS_ERR_UNKNOWN_INSTALLATION
	codeCurrentInstallation  = C.CHORUS_ERR_CURRENT_INSTALLATION
	codeAlreadyLinked        = C.CHORUS_ERR_ALREADY_LINKED
	codeNetwork              = C.CHORUS_ERR_NETWORK
	codeStorage              = C.CHORUS_ERR_STORAGE
	codeInternal             = C.CHORUS_ERR_INTERNAL
)

// callError is an error with its C code.
type callError struct {
	code C.int
	err  error
}

func (e *callError) Error() string { return e.err.Error() }
func (e *callError) Unwrap() error { return e.err }

func errCode(code C.int, format string, args ...any) error {
	return &callError{code: code, err: fmt.Errorf(format, args...)}
}

var (
	errInvalidHandle = errCode(codeInvalidHandle, "chorus: invalid handle")
	errTimeout       = errCode(codeTimeout, "chorus: no event within the timeout")
	errStreamClosed  = errCode(codeClosed, "chorus: event stream closed")
)

// call runs fn for an export: it recovers panics, maps the error to its code and stores
// the message in *errOut (when errOut is not NULL).
func call(errOut **C.char, fn func() error) (code C.int) {
	if errOut != nil {
		*errOut = nil
	}
	defer func() {
		if r := recover(); r != nil {
			code = setErr(errOut, &callError{code: codeInternal, err: fmt.Errorf("chorus: internal error (recovered panic): %v", r)})
		}
	}()
	if err := fn(); err != nil {
		return setErr(errOut, err)
	}
	return codeOK
}

func setErr(errOut **C.char, err error) C.int {
	code := codeOf(err)
	if errOut != nil {
		*errOut = C.CString(err.Error())
	}
	return code
}

func codeOf(err error) C.int {
	var ce *callError
	if errors.As(err, &ce) {
		return ce.code
	}
	for _, m := range errorCodes {
		if errors.Is(err, m.err) {
			return m.code
		}
	}
	if errors.Is(err, context.Canceled) {
		return codeClosed
	}
	return codeInternal
}

// goString copies a borrowed C string; NULL is an invalid argument unless optional.
func goString(p *C.chorus_cchar, name string, optional bool) (string, error) {
	if p == nil {
		if optional {
			return "", nil
		}
		return "", errCode(codeInvalidArgument, "chorus: %s must not be NULL", name)
	}
	return C.GoString((*C.char)(unsafe.Pointer(p))), nil
}

// setOut stores a malloc'd copy of s in *out (when out is not NULL).
func setOut(out **C.char, s string) {
	if out != nil {
		*out = C.CString(s)
	}
}

// lookup returns the handle's value as a T.
func lookup[T any](h C.uint64_t) (v T, err error) {
	defer func() {
		if recover() != nil {
			err = errInvalidHandle
		}
	}()
	if h == 0 {
		return v, errInvalidHandle
	}
	v, ok := cgo.Handle(h).Value().(T)
	if !ok {
		return v, errInvalidHandle
	}
	return v, nil
}

func newHandle(v any) C.uint64_t { return C.uint64_t(cgo.NewHandle(v)) }

func deleteHandle(h C.uint64_t) {
	defer func() { _ = recover() }()
	cgo.Handle(h).Delete()
}

//export chorus_free
func chorus_free(p unsafe.Pointer) { C.free(p) }

//export chorus_abi_version
func chorus_abi_version() C.int { return C.CHORUS_ABI_VERSION }

// millis converts milliseconds to a duration, saturating (about 292 years) instead of
// overflowing to a negative duration: a "wait for ever" timeout of i64::MAX ms returned at
// once (review 10, review10_next_event_long_timeout_waits).
func millis(ms int64) time.Duration {
	const most = math.MaxInt64 / int64(time.Millisecond)
	switch {
	case ms > most:
		return math.MaxInt64
	case ms < -most:
		return math.MinInt64
	}
	return time.Duration(ms) * time.Millisecond
}
