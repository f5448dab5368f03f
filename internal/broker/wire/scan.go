package wire

import (
	"github.com/envseal/envseal/internal/redact"
)

// Value scans: the pre-commit hook asks an unlocked broker where the
// values of stored secrets occur in the lines a commit adds. The content
// travels as a sealed memfd (it may be larger than a frame); the answer is
// secret names and byte offsets, never a value.
//
// The frame is an oracle ("does this text contain a stored value?"), so it
// is bounded: content at most MaxScanSize, and the server's budget
// (server/scan_linux.go).
// MaxScanSize bounds the content of one scan.
const MaxScanSize = 8 << 20

// ScanMsg announces the content's size; the content is the one descriptor
// sent with the frame (a memfd sealed against writes, shrinking and
// growing).
type ScanMsg struct {
	Size int64 `json:"size"`
}

// ScanResultMsg answers TypeScan.
type ScanResultMsg struct {
	Hits    []redact.ValueHit `json:"hits"`
	Total   int               `json:"total"`   // hits found (Hits holds at most redact.MaxValueHits)
	Secrets int               `json:"secrets"` // secrets checked
	// Unreadable names secrets that could not be decrypted (corrupt), so
	// they were not checked.
	Unreadable []string `json:"unreadable,omitempty"`
}

// DecodeScan decodes a scan request.
func DecodeScan(p []byte) (*ScanMsg, error) {
	var m ScanMsg
	if err := decodeJSON(p, &m); err != nil {
		return nil, err
	}
	if m.Size < 0 || m.Size > MaxScanSize {
		return nil, Errorf("scan of %d bytes (max %d)", m.Size, MaxScanSize)
	}
	return &m, nil
}

// DecodeScanResult decodes a scan answer.
func DecodeScanResult(p []byte) (*ScanResultMsg, error) {
	var m ScanResultMsg
	if err := decodeJSON(p, &m); err != nil {
		return nil, err
	}
	if len(m.Hits) > redact.MaxValueHits {
		return nil, Errorf("%d hits (max %d)", len(m.Hits), redact.MaxValueHits)
	}
	return &m, nil
}
