package orders_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tossintl/backend/shared/orders"
)

// cursorOf spells a List cursor by hand: base64url of {"c":createdAt,"i":id},
// padded with JSON whitespace to size characters when size > 0.
func cursorOf(t *testing.T, createdAt int64, id string, size int) string {
	t.Helper()
	js := fmt.Sprintf(`{"c":%d,"i":%q}`, createdAt, id)
	if size > 0 {
		n := size * 3 / 4 // raw base64url: 4 characters per 3 bytes
		if size%4 != 0 || n < len(js) {
			t.Fatalf("cannot pad %s to %d characters", js, size)
		}
		js = js[:len(js)-1] + strings.Repeat(" ", n-len(js)) + "}"
	}
	c := base64.RawURLEncoding.EncodeToString([]byte(js))
	if size > 0 && len(c) != size {
		t.Fatalf("cursor of %d characters, want %d", len(c), size)
	}
	return c
}

// The bounds decodeCursor puts on a cursor: at most 256 characters, a
// position at a positive createdAt. Within them a well-formed position is
// taken as it is, however its JSON is spaced.
func TestListCursorBounds(t *testing.T) {
	now := t0.Add(time.Minute)
	forEachStore(t, func(t *testing.T, f fixture) {
		o := create(t, f.store, 1000, t0)
		pos := t0.Add(time.Second).UnixMilli() // after o: o is on the page
		cases := []struct {
			name   string
			cursor string
			ok     bool
		}{
			{"256 characters", cursorOf(t, pos, o.ID, 256), true},
			{"260 characters", cursorOf(t, pos, o.ID, 260), false},
			{"createdAt 0", cursorOf(t, 0, o.ID, 0), false},
			{"createdAt 1", cursorOf(t, 1, o.ID, 0), true},
		}
		for _, c := range cases {
			items, _, err := f.store.List(ctx, now, 10, c.cursor)
			var ve *orders.ValidationError
			switch {
			case c.ok && err != nil:
				t.Errorf("%s: %v, want the page", c.name, err)
			case c.ok && c.name == "256 characters" && (len(items) != 1 || items[0].ID != o.ID):
				t.Errorf("%s: %d orders, want the order before the position", c.name, len(items))
			case !c.ok && (!errors.As(err, &ve) || ve.Field != "cursor"):
				t.Errorf("%s: %v, want a ValidationError on cursor", c.name, err)
			}
		}
	})
}
