package redact

import (
	"errors"
	"slices"
)

// ValueHit is an occurrence of a known secret's value (raw or in one of
// redact's encodings) in a blob: the secret's name and the byte offset the
// occurrence starts at. Never the value.
type ValueHit struct {
	Name   string `json:"name"`
	Offset int    `json:"offset"`
}

// MaxValueHits bounds the hits FindValues reports; the rest are counted
// only (a blob made of one value repeated a million times is not worth a
// million lines).
const MaxValueHits = 1000

// FindValues reports where the values of secrets occur in data, using the
// same matcher as the output scrubber (Find), so the
// pre-commit hook blocks exactly what `envseal run` would  It
// returns at most MaxValueHits hits, in order, and the total count.
//
// Any vault can be checked: large values are matched by their pieces, and
// when the automaton for all values at once would be too large (thousands
// of them) the secrets are checked in groups, each a pass over data.
func FindValues(secrets []Secret, data []byte) ([]ValueHit, int, error) {
	if len(secrets) == 0 || len(data) == 0 {
		return nil, 0, nil
	}
	var all []Match
	if err := findGroups(secrets, data, &all); err != nil {
		return nil, 0, err
	}
	slices.SortStableFunc(all, func(a, b Match) int { return a.Start - b.Start })
	var hits []ValueHit
	for _, m := range all[:min(len(all), MaxValueHits)] {
		hits = append(hits, ValueHit{Name: m.Name, Offset: m.Start})
	}
	return hits, len(all), nil
}

// findGroups matches secrets against data, halving the group whenever its
// matcher would be too large.
func findGroups(secrets []Secret, data []byte, all *[]Match) error {
	m, err := NewMatcher(secrets)
	if errors.Is(err, ErrTooLarge) && len(secrets) > 1 {
		h := len(secrets) / 2
		if err := findGroups(secrets[:h], data, all); err != nil {
			return err
		}
		return findGroups(secrets[h:], data, all)
	}
	if err != nil {
		return err
	}
	*all = append(*all, m.Find(data)...)
	return nil
}
