//! Reading the old portals' exports: CSV with a header or JSON Lines, one
//! row per registration. Every row is checked against the rules and the
//! catalogue; a bad row becomes a [`Rejection`] with its file, line and
//! reason, and the rows after it are read as usual.

use std::{
    cell::Cell,
    collections::HashMap,
    fs::File,
    io::{BufRead, BufReader, Read},
    ops::ControlFlow,
    path::{Path, PathBuf},
    rc::Rc,
};

use serde::Deserialize;
use si_credentials::HashCost;
use si_domain::{CardNumber, DisplayName, EARLIEST_BIRTH_DATE, Email, LibraryCode, Username, parse_date};
use si_store::{Repositories, Store, StoreError};
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, format_description::well_known::Rfc3339};

use crate::json_fields::JsonFields;

/// The columns of an export, as `docs/migration.md` documents them.
const COLUMNS: [&str; 11] = [
    "library_code",
    "card_number",
    "branch",
    "username",
    "password_hash",
    "email",
    "name",
    "birth_date",
    "subscription_type",
    "valid_until",
    "last_login",
];

/// One row as exported; every column but the first two may be empty. A key
/// it does not know is refused: a misspelled `password_hash` must not read
/// as a row without a password.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Exported {
    library_code: String,
    card_number: String,
    #[serde(default)]
    branch: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password_hash: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    subscription_type: String,
    #[serde(default)]
    valid_until: String,
    #[serde(default)]
    last_login: String,
}

impl Exported {
    fn columns(&self) -> [(&'static str, &str); 11] {
        let values = [
            &self.library_code,
            &self.card_number,
            &self.branch,
            &self.username,
            &self.password_hash,
            &self.email,
            &self.name,
            &self.birth_date,
            &self.subscription_type,
            &self.valid_until,
            &self.last_login,
        ];
        std::array::from_fn(|column| (COLUMNS[column], values[column].as_str()))
    }

    /// A JSON object's values as the text a CSV cell would hold: a number as
    /// written (card numbers are often exported as numbers), `null` as empty.
    fn from_json(line: &str) -> Result<Self, String> {
        let JsonFields(fields) = serde_json::from_str(line).map_err(|e| format!("not a JSON row: {e}"))?;
        let mut texts = Vec::with_capacity(fields.len());
        for (key, value) in fields {
            let text = match value {
                serde_json::Value::String(text) => text,
                // A whole number as written; one beyond 64 bits would come
                // back rounded (`2e19`), so it must be written as text.
                serde_json::Value::Number(number) if number.is_u64() || number.is_i64() => number.to_string(),
                serde_json::Value::Null => String::new(),
                _ => return Err(format!("{key} is not text, a whole number or null")),
            };
            texts.push((key, text));
        }
        Self::deserialize(
            serde::de::value::MapDeserializer::<_, serde::de::value::Error>::new(texts.into_iter()),
        )
        .map_err(|e| format!("not a JSON row: {e}"))
    }
}

/// Checks a CSV header: each column once, and no other. Empty values are
/// for the rows; a column left out or misspelled would empty it for a
/// whole library in silence.
fn check_header(header: &csv::StringRecord) -> Result<(), String> {
    let names: Vec<&str> = header.iter().collect();
    // Most of our columns named in other letters: a header in capitals.
    // One value that happens to match (a row's username "Name") does not
    // make a row a header, whose values must not be shown.
    let in_other_case = names
        .iter()
        .filter(|name| !COLUMNS.contains(name) && COLUMNS.contains(&name.to_ascii_lowercase().as_str()))
        .count()
        > COLUMNS.len() / 2;
    // No column of ours at all: a row where the header should be, or no
    // export. Its values are members' data: none is shown.
    if !in_other_case && !names.iter().any(|name| COLUMNS.contains(name)) {
        return Err(format!(
            "the first line is no header of an export: none of its {} values names a column (a row where the header should be, or another kind of file?); {}",
            names.len(),
            columns_wanted()
        ));
    }
    let count = |column: &str| names.iter().filter(|name| **name == column).count();
    let list = |columns: Vec<String>| {
        let mut shown: Vec<String> = columns.iter().take(SHOWN_NAMES).cloned().collect();
        if columns.len() > SHOWN_NAMES {
            shown.push(format!("and {} more", columns.len() - SHOWN_NAMES));
        }
        shown.join(", ")
    };
    let unknown: Vec<String> = names
        .iter()
        .filter(|name| !COLUMNS.contains(name))
        .map(|name| shown_name(name))
        .collect();
    let ours = |columns: Vec<&str>| columns.into_iter().map(str::to_owned).collect();
    let missing: Vec<&str> = COLUMNS.into_iter().filter(|column| count(column) == 0).collect();
    let twice: Vec<&str> = COLUMNS.into_iter().filter(|column| count(column) > 1).collect();
    let mut problems = Vec::new();
    if !unknown.is_empty() {
        problems.push(format!("has unknown columns ({})", list(unknown)));
    }
    if !missing.is_empty() {
        problems.push(format!("lacks columns ({})", list(ours(missing))));
    }
    if !twice.is_empty() {
        problems.push(format!("names columns twice ({})", list(ours(twice))));
    }
    if problems.is_empty() {
        return Ok(());
    }
    // What a spreadsheet did to the header, said in the operator's terms.
    let mut hints = String::new();
    if in_other_case {
        hints.push_str("; column names are written in lower case");
    }
    if names.contains(&"") {
        hints.push_str(
            "; delete the empty columns a spreadsheet left at the end of each line (columns without a name)",
        );
    }
    Err(format!(
        "the header {}{hints}: {}",
        problems.join(", "),
        columns_wanted()
    ))
}

/// What a header must name.
fn columns_wanted() -> String {
    format!(
        "it must name each of these columns once, in any order: {}",
        COLUMNS.join(",")
    )
}

/// How many unknown names a header's error lists, and how much of each: a
/// quote left open in a header takes the rows after it into one "name",
/// and what they hold (addresses, password hashes) does not belong in a
/// terminal or a log.
const SHOWN_NAMES: usize = 12;
const SHOWN_NAME_CHARS: usize = 40;

/// An unknown name as an error shows it: quoted (an empty one too), cut
/// at a line break (a quote left open runs on into the rows) or after
/// [`SHOWN_NAME_CHARS`], other control characters escaped.
fn shown_name(name: &str) -> String {
    let first_line = name.split(['\n', '\r']).next().unwrap_or_default();
    let mut shown: String = first_line
        .chars()
        .take(SHOWN_NAME_CHARS)
        .flat_map(|c| c.escape_debug())
        .collect();
    if first_line.len() < name.len() || first_line.chars().count() > SHOWN_NAME_CHARS {
        shown.push('…');
    }
    format!("\"{shown}\"")
}

/// The longest old username kept (the column's size); a longer one is an export error.
const OLD_USERNAME_MAX_CHARS: usize = 255;
/// The longest JSON Lines row read: a row is a few hundred bytes, and a file
/// without line breaks must not be read into memory whole.
const JSON_LINE_MAX_BYTES: u64 = 64 * 1024;

/// Where a row came from: the file (as given) and its line, counted from the
/// file's first line as an editor counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    pub file: usize,
    pub line: u64,
}

impl Source {
    /// The file's name, as it was given.
    pub fn file_name(&self, files: &[PathBuf]) -> String {
        files
            .get(self.file)
            .map(|f| f.display().to_string())
            .unwrap_or_default()
    }
}

/// A row that passed every check.
#[derive(Debug, Clone)]
pub struct Row {
    pub source: Source,
    pub library: usize,
    pub branch_id: i64,
    pub subscription_type_id: i64,
    pub card: CardNumber,
    /// The portal username exactly as exported, when there was one.
    pub old_username: Option<String>,
    pub password_hash: Option<String>,
    /// What checking `password_hash` costs.
    pub hash_cost: Option<HashCost>,
    /// Why an exported hash is not kept (the member must use "Wachtwoord vergeten").
    pub hash_problem: Option<String>,
    pub email: Option<Email>,
    /// Why an exported address is not kept.
    pub email_problem: Option<String>,
    pub name: DisplayName,
    pub birth_date: Date,
    pub valid_until: Date,
    pub last_login: Option<OffsetDateTime>,
}

/// A row that cannot be imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub source: Source,
    pub reason: String,
    /// The row's library and card number, when those two could be read:
    /// a later row with the same card must not take it meanwhile.
    pub card: Option<(usize, CardNumber)>,
}

/// The libraries, branches and subscription types rows refer to.
pub struct Catalogue {
    pub libraries: Vec<LibraryEntry>,
    by_code: HashMap<String, usize>,
    /// What "in the future" means for a birth date or a last login: one
    /// moment for every pass over the files, so that they all judge alike.
    now: OffsetDateTime,
}

pub struct LibraryEntry {
    pub id: i64,
    pub code: LibraryCode,
    pub name: DisplayName,
    /// Branch code → id; the first by code serves rows without a branch.
    branches: Vec<(String, i64)>,
    subscriptions: HashMap<String, i64>,
}

impl Catalogue {
    pub async fn load(store: &Store) -> Result<Self, StoreError> {
        let catalogue = store.catalogue();
        let mut libraries = Vec::new();
        for library in catalogue.libraries().await? {
            let branches = catalogue
                .branches(&library.code)
                .await?
                .into_iter()
                .map(|b| (b.code.to_string(), b.id))
                .collect();
            let subscriptions = catalogue
                .subscription_types(&library.code)
                .await?
                .into_iter()
                .map(|s| (s.code.to_string(), s.id))
                .collect();
            libraries.push(LibraryEntry {
                id: library.id,
                code: library.code,
                name: library.name,
                branches,
                subscriptions,
            });
        }
        let by_code = libraries
            .iter()
            .enumerate()
            .map(|(index, l)| (l.code.to_string(), index))
            .collect();
        Ok(Self {
            libraries,
            by_code,
            now: store.clock().now(),
        })
    }
}

/// Reads every file in turn and hands each row, checked, to `each`, until
/// `each` breaks off.
pub fn read(
    files: &[PathBuf],
    catalogue: &Catalogue,
    mut each: impl FnMut(Result<Row, Rejection>) -> ControlFlow<()>,
) -> std::io::Result<()> {
    for (file, path) in files.iter().enumerate() {
        let checked = |line: u64, exported: Result<Exported, String>| {
            let source = Source { file, line };
            let exported = exported.map_err(|reason| Rejection {
                source,
                reason,
                card: None,
            })?;
            check(source, &exported, catalogue).map_err(|reason| Rejection {
                source,
                reason,
                card: card_of(&exported, catalogue).ok(),
            })
        };
        if is_json_lines(path) {
            let mut reader = BufReader::new(File::open(path)?);
            let mut bytes = Vec::new();
            for line_number in 1.. {
                let Some(line) = next_line(&mut reader, &mut bytes)? else {
                    break;
                };
                let exported = match line {
                    Line::TooLong => Err(format!("longer than {JSON_LINE_MAX_BYTES} bytes")),
                    Line::Text(text) => {
                        // A byte-order mark may open the file.
                        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
                        if text.trim().is_empty() {
                            continue;
                        }
                        Exported::from_json(text)
                    }
                    Line::NotUtf8 => Err("not UTF-8 text".to_owned()),
                };
                if each(checked(line_number, exported)).is_break() {
                    return Ok(());
                }
            }
        } else if read_csv(path, |line, exported| each(checked(line, exported)))?.is_break() {
            return Ok(());
        }
    }
    Ok(())
}

/// Reads a CSV export row by row, handing `row` each with the line it
/// starts on, until `row` breaks off. Blank lines (and rows of empty
/// fields) are skipped; a header that is wrong stops the file before any
/// row.
fn read_csv(
    path: &Path,
    mut row: impl FnMut(u64, Result<Exported, String>) -> ControlFlow<()>,
) -> std::io::Result<ControlFlow<()>> {
    let in_file = |problem: String| std::io::Error::other(format!("{}: {problem}", path.display()));
    let layout = CsvLayout::of(path)?.map_err(in_file)?;
    let read_since_row = Rc::new(Cell::new(0));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(layout.delimiter)
        .terminator(match layout.line_end {
            LineEnd::LineFeed => csv::Terminator::Any(b'\n'),
            LineEnd::CarriageReturn => csv::Terminator::CRLF,
        })
        .from_reader(RowLimit {
            file: File::open(path)?,
            read_since_row: Rc::clone(&read_since_row),
        });
    let mut lines = LineNumbers::open(path, layout.line_end)?;
    let separator = match layout.delimiter {
        b',' => "comma",
        b';' => "semicolon",
        b'\t' => "tab",
        _ => "separator",
    };
    let mut record = csv::StringRecord::new();
    let mut headers = None;
    let mut separator_line = layout.separator_line;
    loop {
        let read = reader.read_record(&mut record);
        read_since_row.set(0);
        let line = match read {
            Ok(false) => break,
            Ok(true) => lines.first_line_of(record.position().map_or(0, csv::Position::byte))?,
            Err(error) if error.is_io_error() => {
                let from = lines.first_line_of(record.position().map_or(0, csv::Position::byte))?;
                return Err(in_file(format!("from line {from} on: {error}")));
            }
            Err(error) => {
                let line = lines.first_line_of(error.position().map_or(0, csv::Position::byte))?;
                let last_line = lines
                    .line_of(reader.position().byte().saturating_sub(1))?
                    .max(line);
                let reason = match (error.kind(), &headers) {
                    (_, Some(_)) if last_line > line => spanning(line, last_line),
                    // The crate's own message counts records and lines
                    // its own way: name only the column, the line is ours.
                    (csv::ErrorKind::Utf8 { err, .. }, Some(headers)) => format!(
                        "{} is not UTF-8 text",
                        csv::StringRecord::get(headers, err.field()).unwrap_or("a column")
                    ),
                    (csv::ErrorKind::Utf8 { .. }, None) => {
                        return Err(in_file(format!("the header on line {line} is not UTF-8 text")));
                    }
                    (_, None) => return Err(in_file(format!("the header on line {line} cannot be read"))),
                    _ => format!("not a valid CSV row: {error}"),
                };
                if row(line, Err(reason)).is_break() {
                    return Ok(ControlFlow::Break(()));
                }
                continue;
            }
        };
        // The row's last line is the one its last byte (its line end, or
        // the end of the file) is on: a quote left open runs on over the
        // next lines, as one row, and they are all named, so none of them
        // is lost in silence.
        let last_line = lines
            .line_of(reader.position().byte().saturating_sub(1))?
            .max(line);
        without_carriage_returns(&mut record);
        if is_blank(&record) {
            continue;
        }
        if std::mem::take(&mut separator_line) {
            continue;
        }
        let Some(headers) = &headers else {
            // A quote left open runs into the rows: what the header would
            // name is members' data.
            if last_line > line || record.iter().any(|name| name.contains(['\n', '\r'])) {
                return Err(in_file(format!(
                    "the header runs on from line {line} to {last_line}: a quote that is not closed?"
                )));
            }
            check_header(&record).map_err(in_file)?;
            headers = Some(record.clone());
            continue;
        };
        let exported = if last_line > line {
            Err(spanning(line, last_line))
        } else if record.iter().any(|field| field.contains('\r')) && record.len() != headers.len() {
            Err(format!(
                "{} fields where the header names {}: a line that ends in a lone carriage return (\\r) ran on into the next",
                record.len(),
                headers.len()
            ))
        } else if record.len() > headers.len() {
            // Read by the header's names, a value past the last one would
            // be dropped in silence.
            Err(format!(
                "{} fields where the header names {}: a {separator} outside quotes, or a value too many",
                record.len(),
                headers.len()
            ))
        } else if record.len() < headers.len() {
            Err(format!(
                "{} fields where the header names {}: a value or its {separator} is missing",
                record.len(),
                headers.len()
            ))
        } else {
            record
                .deserialize::<Exported>(Some(headers))
                .map_err(|e| format!("not a valid CSV row: {e}"))
        };
        if row(line, exported).is_break() {
            return Ok(ControlFlow::Break(()));
        }
    }
    if headers.is_none() {
        return Err(in_file(format!(
            "the file has no header, it is empty: {}",
            columns_wanted()
        )));
    }
    Ok(ControlFlow::Continue(()))
}

/// Why a row that covers more than one line is refused.
fn spanning(line: u64, last_line: u64) -> String {
    format!(
        "lines {line}–{last_line} read as one row: a quote that is not closed, or a line break inside a field"
    )
}

/// The file of a CSV export, read by the csv crate, refusing to go on once
/// more than [`ROW_MAX_BYTES`] were read for one row: a quote left open
/// near the top of a large export would take the rest of it into one row,
/// in memory.
struct RowLimit {
    file: File,
    /// Reset by the reader at each row.
    read_since_row: Rc<Cell<u64>>,
}

/// Far more than a row of the documented columns takes.
const ROW_MAX_BYTES: u64 = 1024 * 1024;

impl Read for RowLimit {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        if self.read_since_row.get() > ROW_MAX_BYTES {
            return Err(std::io::Error::other(
                "a row runs on past 1 MiB: a quote that is not closed, or a value far longer than any member's",
            ));
        }
        let read = self.file.read(buffer)?;
        self.read_since_row.set(self.read_since_row.get() + read as u64);
        Ok(read)
    }
}

/// How the lines of a CSV export end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineEnd {
    /// `\n`, or `\r\n` as Windows writes (or `\r\r\n`, as a program that
    /// wrote `\r\n` through Windows' text mode does): a `\r` anywhere else is
    /// a character of its field (and refused there as a control character),
    /// so that it cannot cut a row in two.
    LineFeed,
    /// A lone `\r`, as the "CSV (Macintosh)" files of spreadsheets have; a
    /// `\n` or `\r\n` ends a line there too.
    CarriageReturn,
}

/// How an export is laid out, told by its header line.
struct CsvLayout {
    line_end: LineEnd,
    /// `,`, or `;` as spreadsheets with a Dutch locale save "CSV", or the
    /// one a `sep=` line names.
    delimiter: u8,
    /// Whether the header comes after a `sep=;` line, as Excel may write.
    separator_line: bool,
}

/// Far more than a header of the documented columns takes.
const HEADER_MAX_BYTES: u64 = 64 * 1024;

impl CsvLayout {
    /// The layout of the export at `path`, or why it is no CSV export of
    /// ours at all.
    fn of(path: &Path) -> std::io::Result<Result<CsvLayout, String>> {
        let mut head = Vec::new();
        File::open(path)?.take(HEADER_MAX_BYTES).read_to_end(&mut head)?;
        // With its byte-order mark, or without: then every other byte of
        // the header's letters is a NUL.
        let utf16 = match head.as_slice() {
            [0xff, 0xfe, ..] | [0xfe, 0xff, ..] => true,
            [a, 0, b, 0, ..] | [0, a, 0, b, ..] => *a != 0 && *b != 0,
            _ => false,
        };
        if utf16 {
            return Ok(Err(
                "the file is UTF-16 text: save it as UTF-8 (CSV UTF-8)".to_owned()
            ));
        }
        let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&head);
        let (mut header, mut after) = first_filled_line(text);
        if matches!(header.trim_ascii_start().first(), Some(b'{' | b'[')) {
            return Ok(Err(
                "this is JSON, not CSV: a JSON Lines export is read when its name ends in .jsonl".to_owned(),
            ));
        }
        let named_separator = match header {
            [b's', b'e', b'p', b'=', separator, rest @ ..] if rest.trim_ascii().is_empty() => {
                Some(*separator)
            }
            _ => None,
        };
        if named_separator.is_some() {
            (header, after) = first_filled_line(after);
        }
        // `\r\n`, and `\r\r\n` too, end in `\n`.
        let lone_carriage_return =
            after.first() == Some(&b'\r') && after.iter().find(|&&b| b != b'\r').is_some_and(|&b| b != b'\n');
        let semicolons = !header.contains(&b',') && header.contains(&b';');
        Ok(Ok(CsvLayout {
            line_end: if lone_carriage_return {
                LineEnd::CarriageReturn
            } else {
                LineEnd::LineFeed
            },
            delimiter: named_separator.unwrap_or(if semicolons { b';' } else { b',' }),
            separator_line: named_separator.is_some(),
        }))
    }
}

/// The first line of `text` with more than spaces on it, and what follows
/// it (its line end first).
fn first_filled_line(mut text: &[u8]) -> (&[u8], &[u8]) {
    loop {
        let end = text
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
            .unwrap_or(text.len());
        let (line, rest) = text.split_at(end);
        if !line.trim_ascii().is_empty() || rest.is_empty() {
            return (line, rest);
        }
        text = &rest[rest
            .iter()
            .position(|&b| b != b'\n' && b != b'\r')
            .unwrap_or(rest.len())..];
    }
}

/// Takes the `\r` of a `\r\n` line end (or `\r\r\n`) off a row's last
/// field: lines are read up to their `\n`.
fn without_carriage_returns(record: &mut csv::StringRecord) {
    let Some(last) = record.len().checked_sub(1) else {
        return;
    };
    if let Some(value) = record.get(last).filter(|value| value.ends_with('\r')) {
        let value = value.trim_end_matches('\r').to_owned();
        record.truncate(last);
        record.push_field(&value);
    }
}

/// A line with nothing on it but spaces, or a spreadsheet's empty row
/// (`,,,,`): no value to import or reject.
fn is_blank(record: &csv::StringRecord) -> bool {
    record.iter().all(|field| field.trim().is_empty())
}

/// Line numbers of the csv crate's byte offsets, counted in a reading of
/// the file of its own: the operator fixes rows by the line we name.
struct LineNumbers {
    file: BufReader<File>,
    line_end: LineEnd,
    /// Bytes counted so far, and the line the byte after them is on.
    offset: u64,
    line: u64,
    /// Whether the last byte counted was a `\r`: the `\n` after it ends
    /// the same line.
    after_carriage_return: bool,
}

impl LineNumbers {
    fn open(path: &Path, line_end: LineEnd) -> std::io::Result<Self> {
        Ok(Self {
            file: BufReader::new(File::open(path)?),
            line_end,
            offset: 0,
            line: 1,
            after_carriage_return: false,
        })
    }

    /// The line a row begins on that the crate says starts at `start`
    /// (offsets come in reading order). The crate puts that start before
    /// the line ends it skipped on the way: the blank lines before the row,
    /// and the end of the line before it.
    fn first_line_of(&mut self, start: u64) -> std::io::Result<u64> {
        self.line_of(start)?;
        // The crate puts the first row at 0, before the byte-order mark.
        if self.offset == 0 && self.file.fill_buf()?.starts_with(b"\xef\xbb\xbf") {
            self.count(3)?;
        }
        while let Some(&next) = self.file.fill_buf()?.first() {
            if !(next == b'\n' || (next == b'\r' && self.line_end == LineEnd::CarriageReturn)) {
                break;
            }
            self.count(1)?;
        }
        Ok(self.line)
    }

    /// The line the byte at `offset` is on (offsets come in reading order).
    fn line_of(&mut self, offset: u64) -> std::io::Result<u64> {
        while self.offset < offset {
            let ahead = usize::try_from(offset - self.offset).unwrap_or(usize::MAX);
            if self.count(ahead)? == 0 {
                break;
            }
        }
        Ok(self.line)
    }

    /// Counts the line ends in up to `most` bytes more; how many it read
    /// (none at the end of the file).
    fn count(&mut self, most: usize) -> std::io::Result<usize> {
        let buffer = self.file.fill_buf()?;
        let counted = buffer.len().min(most);
        for &byte in &buffer[..counted] {
            let ends_line = match self.line_end {
                LineEnd::LineFeed => byte == b'\n',
                LineEnd::CarriageReturn => byte == b'\r' || (byte == b'\n' && !self.after_carriage_return),
            };
            self.line += u64::from(ends_line);
            self.after_carriage_return = byte == b'\r';
        }
        self.file.consume(counted);
        self.offset += counted as u64;
        Ok(counted)
    }
}

/// One line of a JSON Lines file, without its line break.
enum Line<'a> {
    Text(&'a str),
    NotUtf8,
    TooLong,
}

/// Reads the next line into `bytes`, at most [`JSON_LINE_MAX_BYTES`] of it
/// (the rest of a longer line is skipped); `None` at the end of the file.
fn next_line<'a>(reader: &mut impl BufRead, bytes: &'a mut Vec<u8>) -> std::io::Result<Option<Line<'a>>> {
    bytes.clear();
    let read = reader
        .by_ref()
        .take(JSON_LINE_MAX_BYTES + 1)
        .read_until(b'\n', bytes)?;
    if read == 0 {
        return Ok(None);
    }
    if bytes.last() != Some(&b'\n') && read as u64 > JSON_LINE_MAX_BYTES {
        let mut rest = Vec::new();
        while reader
            .by_ref()
            .take(JSON_LINE_MAX_BYTES)
            .read_until(b'\n', &mut rest)?
            > 0
            && rest.last() != Some(&b'\n')
        {
            rest.clear();
        }
        return Ok(Some(Line::TooLong));
    }
    let text = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    Ok(Some(std::str::from_utf8(text).map_or(Line::NotUtf8, Line::Text)))
}

fn is_json_lines(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("ndjson"))
}

fn check(source: Source, exported: &Exported, catalogue: &Catalogue) -> Result<Row, String> {
    // A NUL or line break is no part of any value: it is an export fault, and
    // PostgreSQL would refuse a whole batch over it.
    if let Some((column, _)) = exported
        .columns()
        .into_iter()
        .find(|(_, value)| value.chars().any(char::is_control))
    {
        return Err(format!(
            "{column} holds a control character (a NUL, tab or line break)"
        ));
    }
    if exported.username.trim().chars().count() > OLD_USERNAME_MAX_CHARS {
        return Err(format!(
            "the username is longer than {OLD_USERNAME_MAX_CHARS} characters"
        ));
    }
    let (library, card) = card_of(exported, catalogue)?;
    let entry = &catalogue.libraries[library];
    let code = &entry.code;
    let branch = exported.branch.trim();
    let branch_id = if branch.is_empty() {
        entry.branches.first().map(|(_, id)| *id)
    } else {
        entry
            .branches
            .iter()
            .find(|(c, _)| c == branch)
            .map(|(_, id)| *id)
    }
    .ok_or_else(|| format!("library {code} has no branch {branch:?}"))?;
    let subscription_type_id = *entry
        .subscriptions
        .get(exported.subscription_type.trim())
        .ok_or_else(|| {
            format!(
                "library {code} has no subscription type {:?}",
                exported.subscription_type
            )
        })?;
    let name = DisplayName::parse(&exported.name).map_err(|_| "the name is empty or not valid".to_owned())?;
    let birth_date = parse_date(&exported.birth_date)
        .ok_or_else(|| format!("birth date {:?} is not YYYY-MM-DD", exported.birth_date))?;
    if birth_date < EARLIEST_BIRTH_DATE {
        return Err(format!("birth date {birth_date} is before {EARLIEST_BIRTH_DATE}"));
    }
    if birth_date > catalogue.now.date() {
        return Err(format!("birth date {birth_date} is in the future"));
    }
    let valid_until = parse_date(&exported.valid_until)
        .ok_or_else(|| format!("valid until {:?} is not YYYY-MM-DD", exported.valid_until))?;
    let last_login = match exported.last_login.trim() {
        "" => None,
        text => {
            let moment =
                moment(text).ok_or_else(|| format!("last login {text:?} is not a date or RFC 3339 time"))?;
            // It would win every contest for a username. A day's grace for
            // an old portal's clock or time zone.
            if moment > catalogue.now + time::Duration::DAY {
                return Err(format!("last login {text:?} is in the future"));
            }
            Some(moment)
        }
    };
    let (email, email_problem) = match exported.email.trim() {
        "" => (None, None),
        text => match Email::parse(text) {
            Ok(email) => (Some(email), None),
            Err(_) => (None, Some(format!("e-mail address {text:?} is not valid"))),
        },
    };
    let (password_hash, hash_cost, hash_problem) = match exported.password_hash.trim() {
        "" => (None, None, None),
        hash => match HashCost::of(hash) {
            Ok(cost) => (Some(hash.to_owned()), Some(cost), None),
            Err(error) => (None, None, Some(format!("password hash not usable: {error}"))),
        },
    };
    let old_username = Some(exported.username.trim().to_owned()).filter(|u| !u.is_empty());
    Ok(Row {
        source,
        library,
        branch_id,
        subscription_type_id,
        card,
        old_username,
        password_hash,
        hash_cost,
        hash_problem,
        email,
        email_problem,
        name,
        birth_date,
        valid_until,
        last_login,
    })
}

/// The row's library (its place in the catalogue) and card number.
fn card_of(exported: &Exported, catalogue: &Catalogue) -> Result<(usize, CardNumber), String> {
    let code = LibraryCode::parse(&exported.library_code)
        .map_err(|_| format!("library code {:?} is not valid", exported.library_code))?;
    let library = *catalogue
        .by_code
        .get(code.as_str())
        .ok_or_else(|| format!("library {code} is not in the catalogue"))?;
    let card = CardNumber::parse(&exported.card_number).map_err(|_| {
        format!(
            "card number {:?} is not 4 to 32 letters or digits",
            exported.card_number
        )
    })?;
    Ok((library, card))
}

/// An RFC 3339 time, a plain `YYYY-MM-DD HH:MM:SS` (taken as UTC) or a date.
fn moment(text: &str) -> Option<OffsetDateTime> {
    if let Ok(moment) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(moment);
    }
    let plain = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    if let Ok(moment) = PrimitiveDateTime::parse(text, plain) {
        return Some(moment.assume_utc());
    }
    parse_date(text).map(|d| PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_utc())
}

/// The username rule of today, for an old name.
pub fn allowed_username(old: &str) -> Option<Username> {
    Username::parse(old).ok().filter(|u| u.as_str() == old)
}
