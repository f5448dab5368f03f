package githook

import "testing"

// ParseDiff keeps only added lines, numbers them as in the new file, takes
// quoted names apart, and skips deleted files.
func TestParseDiff(t *testing.T) {
	diff := []byte(`diff --git a/x.txt b/x.txt
--- a/x.txt
+++ b/x.txt
@@ -1,0 +2,2 @@
+two
+three
@@ -9 +10,0 @@
-gone
@@ -20,0 +21 @@
+twenty-one
diff --git "a/sp ace" "b/sp ace"
+++ "b/sp ace"
@@ -0,0 +1 @@
+one
diff --git a/old b/old
+++ /dev/null
@@ -1 +0,0 @@
-old
`)
	files := ParseDiff(diff)
	if len(files) != 2 || files[0].Path != "x.txt" || files[1].Path != "sp ace" {
		t.Fatalf("files = %+v", files)
	}
	f := files[0]
	if string(f.Text) != "two\nthree\ntwenty-one\n" {
		t.Fatalf("text = %q", f.Text)
	}
	for off, want := range map[int]int{0: 2, 4: 3, 10: 21} {
		if got := f.LineAt(off); got != want {
			t.Errorf("LineAt(%d) = %d, want %d", off, got, want)
		}
	}
	if got := files[1].LineAt(0); got != 1 {
		t.Errorf("second file LineAt(0) = %d", got)
	}
}
