/**
 * Plausible, deterministic demo customers shared by the demo stores (shop, marketing, support). The first ones are
 * the people of the demo requests in db/seed.ts, so the demo's requests find real records. Same seed, same people:
 * every store agrees on who is who, on every run.
 */

/** A small seeded PRNG (mulberry32): deterministic demo data without a dependency. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    chance: (p: number) => next() < p,
  };
}

export type DemoCustomer = {
  id: number;
  email: string;
  firstName: string;
  lastName: string;
  /** E.164 */
  phone: string;
  accountNumber: string;
  street: string;
  city: string;
  postcode: string;
  country: string;
  createdAt: Date;
};

/** The demo requests' people (db/seed.ts), always customers 1-5, with fixed details the README can mention. */
export const SEED_PEOPLE = [
  { email: "ada.lovelace@example.com", firstName: "Ada", lastName: "Lovelace", country: "GB", city: "London", postcode: "W1J 7NT" },
  { email: "grace.hopper@example.com", firstName: "Grace", lastName: "Hopper", country: "US", city: "Arlington", postcode: "22201" },
  { email: "alan.turing@example.co.uk", firstName: "Alan", lastName: "Turing", country: "GB", city: "Manchester", postcode: "M13 9PL" },
  { email: "katherine.johnson@example.com", firstName: "Katherine", lastName: "Johnson", country: "US", city: "Hampton", postcode: "23666" },
  { email: "edsger.dijkstra@example.nl", firstName: "Edsger", lastName: "Dijkstra", country: "NL", city: "Nuenen", postcode: "5671 AB" },
] as const;

const FIRST = ["Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Sofia", "Lucas", "Mia", "Elias", "Hannah", "Mateo", "Lea", "Jonas", "Chloe", "Leon", "Isla", "Finn", "Zoe", "Ben", "Ines", "Tom", "Nora", "Paul", "Aisha", "Omar", "Yuki", "Chen", "Priya", "Ravi"] as const;
const LAST = ["Smith", "Müller", "Jones", "Schmidt", "Brown", "García", "Martin", "Rossi", "Dubois", "Nowak", "Jansen", "Kowalski", "Silva", "Novak", "Berg", "Fischer", "Wagner", "Taylor", "Moreau", "Lopez", "Khan", "Tanaka", "Wang", "Patel", "O'Brien"] as const;
const STREETS = ["High Street", "Station Road", "Hauptstraße", "Rue de la Paix", "Kerkstraat", "Main Street", "Church Lane", "Bahnhofstraße", "Via Roma", "Park Avenue"] as const;
const PLACES = [
  { country: "GB", city: "Leeds", postcode: () => "LS1 4AP" },
  { country: "DE", city: "Berlin", postcode: () => "10115" },
  { country: "FR", city: "Lyon", postcode: () => "69002" },
  { country: "NL", city: "Utrecht", postcode: () => "3511 AB" },
  { country: "US", city: "Austin", postcode: () => "78701" },
  { country: "IE", city: "Dublin", postcode: () => "D02 X285" },
] as const;
const CALLING: Record<string, string> = { GB: "+44", DE: "+49", FR: "+33", NL: "+31", US: "+1", IE: "+353" };

const ascii = (s: string) => s.normalize("NFKD").replace(/[^\x00-\x7f]/g, "").replace(/[^a-z0-9]/gi, "").toLowerCase();

export function demoCustomers(count = 300, seed = 20260101): DemoCustomer[] {
  const r = prng(seed);
  const base = Date.UTC(2022, 0, 1);
  const out: DemoCustomer[] = [];
  const emails = new Set<string>();
  for (let id = 1; id <= count; id++) {
    const person = SEED_PEOPLE[id - 1];
    const place = r.pick(PLACES);
    const firstName = person?.firstName ?? r.pick(FIRST);
    const lastName = person?.lastName ?? r.pick(LAST);
    let email: string = person?.email ?? `${ascii(firstName)}.${ascii(lastName)}${r.int(1, 999)}@example.${r.pick(["com", "org", "net"])}`;
    while (emails.has(email)) email = email.replace("@", `${r.int(0, 9)}@`);
    emails.add(email);
    const country = person?.country ?? place.country;
    out.push({
      id,
      email,
      firstName,
      lastName,
      phone: `${CALLING[country] ?? "+44"}${String(r.int(100_000_000, 999_999_999))}`,
      accountNumber: `C-${String(100000 + id)}`,
      street: `${r.int(1, 220)} ${r.pick(STREETS)}`,
      city: person?.city ?? place.city,
      postcode: person?.postcode ?? place.postcode(),
      country,
      createdAt: new Date(base + r.int(0, 1000) * 86_400_000),
    });
  }
  return out;
}
