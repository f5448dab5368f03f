package detect

import (
	"regexp"
	"sync"
)

// lazyRE compiles its pattern on first use. envseal is one binary: every
// command pays for package initialisation, and compiling this package's
// patterns up front cost ~10 ms at the start of every `envseal run`.
type lazyRE struct {
	src  string
	once sync.Once
	re   *regexp.Regexp
}

func lazy(src string) *lazyRE { return &lazyRE{src: src} }

func (l *lazyRE) get() *regexp.Regexp {
	l.once.Do(func() { l.re = regexp.MustCompile(l.src) })
	return l.re
}

func (l *lazyRE) String() string                   { return l.src }
func (l *lazyRE) Match(b []byte) bool              { return l.get().Match(b) }
func (l *lazyRE) FindIndex(b []byte) []int         { return l.get().FindIndex(b) }
func (l *lazyRE) FindSubmatchIndex(b []byte) []int { return l.get().FindSubmatchIndex(b) }
func (l *lazyRE) FindAllIndex(b []byte, n int) [][]int {
	return l.get().FindAllIndex(b, n)
}
func (l *lazyRE) FindAllSubmatchIndex(b []byte, n int) [][]int {
	return l.get().FindAllSubmatchIndex(b, n)
}
