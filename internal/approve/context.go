package approve

import "fmt"

// Row is one labelled line of a request's context. Label repeats are
// folded (only the first row of a run of equal labels shows it).
type Row struct {
	Label string
	Value string
}

// maxContextRows bounds the screen; what is cut is said.
const maxContextRows = 80

func (r *Request) contextBody(w *rendering) {
	prev := ""
	for i, row := range r.Context {
		if i == maxContextRows {
			w.cut = append(w.cut, fmt.Sprintf("only the first %d of %d context lines are shown", maxContextRows, len(r.Context)))
			w.add(rowWhere, "", fmt.Sprintf("... %d more lines not shown", len(r.Context)-maxContextRows))
			return
		}
		label := row.Label
		if label == prev {
			label = ""
		}
		prev = row.Label
		w.add(rowWhere, label, w.field(row.Label, clean(row.Value, false)))
	}
}
