package tui

import (
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// VT is a minimal terminal emulator for tests: it understands what Run writes (cursor
// positioning, erase, alternate screen; colors ignored) and keeps the screen text, so a
// test can take a "screenshot" of the chat.
type VT struct {
	mu       sync.Mutex
	w, h     int
	cells    [][]rune
	row, col int
	wrapNext bool
	pending  []byte
	writes   chan struct{}
}

// NewVT returns a w×h blank screen.
func NewVT(w, h int) *VT {
	v := &VT{w: w, h: h, writes: make(chan struct{}, 1)}
	v.clear()
	return v
}

func (v *VT) clear() {
	v.cells = make([][]rune, v.h)
	for i := range v.cells {
		v.cells[i] = []rune(strings.Repeat(" ", v.w))
	}
}

// Changed is signalled (at most one pending) after each Write.
func (v *VT) Changed() <-chan struct{} { return v.writes }

// Write interprets terminal output.
func (v *VT) Write(p []byte) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	b := append(v.pending, p...)
	v.pending = nil
	for len(b) > 0 {
		c := b[0]
		switch {
		case c == 0x1b:
			n, ok := v.escape(b)
			if !ok {
				v.pending = append([]byte(nil), b...)
				b = nil
				continue
			}
			b = b[n:]
			continue
		case c == '\r':
			v.col, v.wrapNext = 0, false
		case c == '\n':
			v.lineFeed()
		case c == '\b':
			v.col = max(0, v.col-1)
		case c < 0x20:
		default:
			if !utf8.FullRune(b) {
				v.pending = append([]byte(nil), b...)
				b = nil
				continue
			}
			r, n := utf8.DecodeRune(b)
			v.put(r)
			b = b[n:]
			continue
		}
		b = b[1:]
	}
	select {
	case v.writes <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (v *VT) lineFeed() {
	v.wrapNext = false
	if v.row == v.h-1 {
		copy(v.cells, v.cells[1:])
		v.cells[v.h-1] = []rune(strings.Repeat(" ", v.w))
		return
	}
	v.row++
}

func (v *VT) put(r rune) {
	if v.wrapNext {
		v.col = 0
		v.lineFeed()
	}
	v.cells[v.row][v.col] = r
	if v.col == v.w-1 {
		v.wrapNext = true
	} else {
		v.col++
	}
}

// escape handles the sequence at b[0] == ESC; ok is false if it is incomplete.
func (v *VT) escape(b []byte) (n int, ok bool) {
	if len(b) < 2 {
		return 0, false
	}
	if b[1] != '[' {
		return 2, true
	}
	i := 2
	for i < len(b) && (b[i] < 0x40 || b[i] > 0x7e) {
		i++
	}
	if i >= len(b) {
		return 0, false
	}
	params, final := string(b[2:i]), b[i]
	private := strings.HasPrefix(params, "?")
	params = strings.TrimPrefix(params, "?")
	var nums []int
	for _, f := range strings.Split(params, ";") {
		x, _ := strconv.Atoi(f)
		nums = append(nums, x)
	}
	arg := func(k, def int) int {
		if k < len(nums) && nums[k] > 0 {
			return nums[k]
		}
		return def
	}
	v.wrapNext = false
	switch final {
	case 'H', 'f':
		v.row = min(v.h, arg(0, 1)) - 1
		v.col = min(v.w, arg(1, 1)) - 1
	case 'J':
		if arg(0, 0) == 2 {
			v.clear()
		}
	case 'K':
		for c := v.col; c < v.w; c++ {
			v.cells[v.row][c] = ' '
		}
	case 'h', 'l':
		if private && params == "1049" {
			v.clear()
			v.row, v.col = 0, 0
		}
	}
	return i + 1, true
}

// Lines returns the screen rows with trailing spaces removed.
func (v *VT) Lines() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]string, v.h)
	for i, r := range v.cells {
		out[i] = strings.TrimRight(string(r), " ")
	}
	return out
}

// Screen returns the screen text, one row per line.
func (v *VT) Screen() string { return strings.Join(v.Lines(), "\n") }
