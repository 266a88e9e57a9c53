"""Writes Workflows/data/pretrain/sqlqa-queries-renamed.jsonl: renamed copies of the pretraining query rows.

Each copy of a row of sqlqa-queries.jsonl (`CREATE TABLE ...` schema, the question, the `[SQL] ... [/SQL]` query,
one per line; the copy leaves the question out, since its words name the columns in prose) has every
table and column name of its schema replaced, in the schema and in the query alike, by a name drawn from the other
rows (a table's by a table name, a column's by a column name; names are matched case-insensitively, as SQLite
does; quoted string values are left alone). Which columns a table has is then no help in predicting the query:
only copying the names from the schema in front of it is. This is what lifts the tiny base's held-out sql-valid
(docs/benchmarks-recipe.md, rows 16 on).

Run from the project root (Python 3 alone; deterministic):
    python3 Workflows/data/make_renamed.py
"""
import json
import random
import re

SOURCE = "Workflows/data/pretrain/sqlqa-queries.jsonl"
TARGET = "Workflows/data/pretrain/sqlqa-queries-renamed.jsonl"
COPIES = 4
SEED = 11

CREATE = re.compile(r"CREATE TABLE (\w+) \(([^)]*)\)")
LITERAL = re.compile(r"(\"[^\"]*\"|'[^']*')")


def names(schema):
    tables, columns = [], []
    for table, body in CREATE.findall(schema):
        tables.append(table)
        columns += [part.split()[0] for part in body.split(",") if part.strip()]
    return tables, columns


def main():
    rows = [json.loads(line)["text"] for line in open(SOURCE, encoding="utf-8")]
    table_pool, column_pool = set(), set()
    for row in rows:
        tables, columns = names(row.split("\n")[0])
        table_pool.update(tables)
        column_pool.update(columns)
    table_pool, column_pool = sorted(table_pool), sorted(column_pool)
    rng = random.Random(SEED)
    written = 0
    with open(TARGET, "w", encoding="utf-8") as out:
        for _copy in range(COPIES):
            for row in rows:
                lines = row.split("\n")
                schema, query = lines[0], lines[-1]
                tables, columns = names(schema)
                mapping, taken = {}, {n.lower() for n in tables + columns}
                for name in tables + columns:
                    if name.lower() in mapping:
                        continue
                    pool = table_pool if name in tables else column_pool
                    for _attempt in range(50):
                        new = rng.choice(pool)
                        if new.lower() not in taken:
                            break
                    taken.add(new.lower())
                    mapping[name.lower()] = new
                if not mapping:
                    continue
                word = re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(mapping, key=len, reverse=True)) + r")\b", re.I)
                rename = lambda text: word.sub(lambda m: mapping[m.group(0).lower()], text)
                parts = LITERAL.split(query)
                query = "".join(part if i % 2 else rename(part) for i, part in enumerate(parts))
                out.write(json.dumps({"text": rename(schema) + "\n" + query}, ensure_ascii=False) + "\n")
                written += 1
    print(f"{TARGET}: {written} rows")


if __name__ == "__main__":
    main()
