"""Customer queries between a buyer's caseworkers, the supplier and its subcontractors [000 §1.126–1.127].

- ``rules``: who takes part (``Caller``, ``PARTIES``) and on which side, the statuses and who may set
  them, what a query's text must be; pure.
- ``vocabulary``: each buyer's own query types and escalation categories, with a default set.
- ``files``: attachments' content-addressed store in ``BAILIWICK_FILES_DIR``, their size limit and the
  type detected from their content.
- ``store``: which queries a caller sees, and the SQL that reads them.
- ``service``: what callers do (raise, answer, move, allocate, attach, read), each change with its
  history and audit rows, each outside party's view audited. The API and the portal both call it.

What other packages may use is named here; they import it from ``queries``, never from its modules.
"""

from queries.files import (
    MAX_BYTES,
    FileRefused,
    FileTooLarge,
    FileTypeRefused,
    IncomingFile,
    StoredContent,
    content_path,
)
from queries.rules import PARTIES, Caller, NotAllowed, QueryError
from queries.service import (
    Download,
    allocate,
    attach,
    buyer_terms,
    change_status,
    check_attachable,
    list_queries,
    open_attachment,
    post_message,
    raise_query,
    read_query,
)
from queries.store import (
    Attachment,
    Change,
    Message,
    QueryDetail,
    QueryFilter,
    QuerySummary,
)
from queries.vocabulary import (
    ESCALATION_CATEGORIES,
    QUERY_TYPES,
    Term,
    Vocabulary,
    replace_terms,
)

__all__ = [
    "ESCALATION_CATEGORIES", "MAX_BYTES", "PARTIES", "QUERY_TYPES", "Attachment", "Caller", "Change", "Download",
    "FileRefused", "FileTooLarge", "FileTypeRefused", "IncomingFile", "Message", "NotAllowed", "QueryDetail",
    "QueryError", "QueryFilter", "QuerySummary", "StoredContent", "Term", "Vocabulary", "allocate", "attach",
    "buyer_terms", "change_status", "check_attachable", "content_path", "list_queries", "open_attachment",
    "post_message", "raise_query", "read_query", "replace_terms",
]
