//! The built-in word lists names and titles are made of: first names and surnames, syllables
//! for coined words, nouns, adjectives, verbs, places, venues, classical forms and keys.

#[rustfmt::skip]
pub(super) const FIRST_NAMES: &[&str] = &[
    "Mira", "Leo", "Nora", "Elias", "Ava", "Jonah", "Iris", "Felix", "Luna", "Oscar", "Maya",
    "Theo", "Clara", "Hugo", "Ada", "Milo", "Ruby", "Silas", "Hazel", "Jasper", "Ivy", "Otis",
    "June", "Arlo", "Elena", "Mateo", "Sofia", "Lucas", "Isla", "Noah", "Chloe", "Ezra", "Stella",
    "Caleb", "Freya", "Roman", "Alma", "Dante", "Lena", "Marcus", "Sasha", "Andre", "Nina",
    "Rafael", "Yara", "Omar", "Leila", "Kenji", "Yuki", "Hana", "Aiko", "Ravi", "Priya", "Anika",
    "Tomas", "Lars", "Ingrid", "Astrid", "Sven", "Greta", "Pietro", "Chiara", "Luca", "Giulia",
    "Diego", "Camila", "Lucia", "Pablo", "Ines", "Joao", "Beatriz", "Kwame", "Amara", "Zuri",
    "Tariq", "Samira", "Malik", "Imani", "Desmond", "Jolene", "Wyatt", "Harlan", "Della", "Vera",
    "Olive", "Frankie", "Charlie", "Sam", "Alex", "Jesse", "Casey", "Riley", "Quinn", "Rowan",
    "Sage", "Marlowe", "Juno", "Cass", "Nico", "Remy", "Jules", "Wren", "Gideon", "Tobias",
    "Magnus", "Soren", "Anouk", "Elodie", "Margaux", "Celeste", "Colette", "Bastien", "Mathis",
    "Emil", "Ida", "Linnea", "Saoirse", "Niamh", "Declan", "Finn", "Rory", "Callum", "Isaac", "Eli",
    "Levi", "Nadia", "Vivian", "Lorenzo", "Valentina", "Bianca", "Soraya", "Mina", "Jin", "Min",
    "Tao", "Mei", "Lian", "Arjun", "Kavya", "Zara", "Leon", "Adrian", "Julian", "Vincent", "Evelyn",
    "Rosalind", "Beatrix", "Delphine", "Esme", "Lottie", "Rufus", "Ansel", "Cosima", "Ottilie",
    "Idris", "Kofi", "Ayo", "Femi", "Nia", "Santiago", "Maren", "Tove", "Kasimir", "Dorian", "Lyra",
    "Thea", "Calla", "Briar", "Emmett", "Cyrus", "Anya", "Milena", "Teodor",
];

#[rustfmt::skip]
pub(super) const SURNAMES: &[&str] = &[
    "Castell", "Marlow", "Hartley", "Vance", "Sorensen", "Lindqvist", "Moreau", "Delacroix",
    "Okafor", "Mensah", "Tanaka", "Nakamura", "Park", "Rivera", "Navarro", "Costa", "Ferreira",
    "Rossi", "Bianchi", "Conti", "Novak", "Kowalski", "Horvath", "Varga", "Petrov", "Brennan",
    "Gallagher", "Doyle", "Ashford", "Blackwood", "Whitlock", "Holloway", "Sinclair", "Thorne",
    "Hale", "Wilder", "Fox", "Stone", "Reyes", "Santos", "Mendes", "Alves", "Haddad", "Nasser",
    "Rahman", "Sharma", "Kapoor", "Chen", "Zhao", "Lin", "Nguyen", "Tran", "Eriksen", "Halvorsen",
    "Berg", "Strand", "Dahl", "Keller", "Weber", "Fischer", "Brandt", "Vogel", "Hoffmann", "Lang",
    "Adler", "Duval", "Girard", "Laurent", "Fontaine", "Beaumont", "Abernathy", "Calloway",
    "Montague", "Pemberton", "Ellison", "Harper", "Sawyer", "Tucker", "Fletcher", "Carver", "Mason",
    "Cooper", "Porter", "Sterling", "Winslow", "Everett", "Lowell", "Prescott", "Whitaker",
    "Langley", "Ramsey", "Maddox", "Hayes", "Monroe", "Darrow", "Crane", "Lark", "Finch", "Rook",
    "Vale", "Frost", "Winter", "Bell", "Hart", "Gray", "Summers", "Day", "Knight", "Ward", "Marsh",
    "Rhodes", "Banks", "Fields", "Brooks", "Rivers", "Woods", "Ford", "Shaw", "Webb", "Hunt",
    "Kerr", "Nash", "Pike", "Dunn", "Lowe", "Bishop", "Dean", "Noble", "Abbott", "Castellanos",
    "Valdez", "Ortega", "Salazar", "Aguilar", "Molina", "Serrano", "Okonkwo", "Adeyemi", "Boateng",
    "Achterberg", "Visser", "Jansen", "Nieminen", "Virtanen", "Moretti", "Esposito", "Marchetti",
    "Lindgren", "Holm", "Sato", "Kobayashi", "Mori", "Ishikawa",
];

/// Word-initial onsets for coined names ("" lets a name start with a vowel).
pub(super) const ONSETS_INITIAL: &[&str] = &[
    "", "", "b", "br", "c", "ch", "d", "dr", "f", "fl", "g", "gr", "h", "j", "k", "kr", "l", "m", "n", "p", "pr", "r",
    "s", "sh", "sk", "st", "t", "th", "tr", "v", "w", "z",
];

pub(super) const ONSETS_MEDIAL: &[&str] = &[
    "b", "d", "f", "g", "k", "l", "ll", "m", "n", "nd", "nt", "r", "rr", "s", "ss", "st", "t", "th", "tr", "v", "z",
    "ren", "lan", "mar", "vel",
];

pub(super) const VOWELS: &[&str] = &["a", "a", "e", "e", "i", "o", "o", "u", "ae", "ai", "ea", "io", "ou", "y"];

pub(super) const CODAS: &[&str] = &["", "", "", "n", "r", "l", "s", "th", "x", "m", "nd", "rk", "ll", "sh", "k"];

pub(super) const SURNAME_ENDINGS: &[&str] = &[
    "son", "berg", "ez", "ini", "ova", "ski", "well", "ton", "ford", "ley", "man", "stad", "ard", "elli", "sen", "ov",
    "wood",
];

#[rustfmt::skip]
pub(super) const NOUNS: &[&str] = &[
    "Harbor", "Moon", "Parade", "River", "Mirror", "Garden", "Window", "Ocean", "Thunder", "Ember",
    "Lantern", "Horizon", "Canyon", "Meadow", "Valley", "Shadow", "Satellite", "Highway", "Comet",
    "Orchard", "Lighthouse", "Desert", "Island", "Forest", "Winter", "Summer", "Autumn", "Morning",
    "Midnight", "Evening", "Twilight", "Daylight", "Starlight", "Sunrise", "Sunset", "Heart",
    "Ghost", "Angel", "Stranger", "Lover", "Dreamer", "Wanderer", "Runaway", "Sailor", "Soldier",
    "Thief", "Prophet", "Queen", "King", "Crown", "Kingdom", "Empire", "Castle", "Tower", "Bridge",
    "Station", "Avenue", "Boulevard", "Street", "Alley", "City", "Village", "Border", "Frontier",
    "Signal", "Static", "Radio", "Echo", "Silence", "Whisper", "Rhythm", "Melody", "Chorus",
    "Anthem", "Ballad", "Lullaby", "Hymn", "Sermon", "Prayer", "Promise", "Secret", "Memory",
    "Reason", "Answer", "Question", "Story", "Letter", "Postcard", "Photograph", "Polaroid",
    "Diamond", "Gold", "Silver", "Copper", "Velvet", "Silk", "Glass", "Paper", "Stone", "Iron",
    "Steel", "Marble", "Crystal", "Feather", "Wing", "Arrow", "Compass", "Anchor", "Atlas",
    "Rocket", "Engine", "Machine", "Circuit", "Neon", "Pixel", "Cassette", "Vinyl", "Jukebox",
    "Carousel", "Circus", "Carnival", "Festival", "Party", "Disco", "Ballroom", "Motel", "Hotel",
    "Diner", "Kitchen", "Bedroom", "Basement", "Attic", "Rooftop", "Balcony", "Porch", "Doorway",
    "Hallway", "Staircase", "Elevator", "Subway", "Airport", "Runway", "Coast", "Shore", "Tide",
    "Wave", "Storm", "Rain", "Snow", "Frost", "Fire", "Flame", "Smoke", "Ash", "Dust", "Sand",
    "Salt", "Honey", "Sugar", "Candy", "Cherry", "Lemon", "Peach", "Apple", "Wine", "Whiskey",
    "Coffee", "Rose", "Lily", "Violet", "Daisy", "Ivy", "Willow", "Cedar", "Pine", "Oak", "Maple",
    "Cypress", "Fern", "Moss", "Clover", "Wolf", "Fox", "Raven", "Crow", "Sparrow", "Swallow",
    "Dove", "Hawk", "Eagle", "Owl", "Tiger", "Lion", "Panther", "Horse", "Stallion", "Deer",
    "Rabbit", "Bear", "Whale", "Dolphin", "Shark", "Serpent", "Dragon", "Phoenix", "Butterfly",
    "Firefly", "Galaxy", "Planet", "Star", "Sun", "Sky", "Cloud", "Heaven", "Paradise", "Gravity",
    "Orbit", "Eclipse", "Aurora", "Nebula", "Cosmos", "Universe", "Atom", "Spark", "Light",
    "Darkness", "Daydream", "Dream", "Nightmare", "Fever", "Pulse", "Heartbeat", "Breath", "Blood",
    "Bone", "Smile", "Kiss", "Touch", "Embrace", "Dance", "Waltz", "Tango", "Groove", "Boogie",
    "Spirit", "Mind", "Hand", "Crowd", "Tribe", "Family", "Brother", "Sister", "Mother", "Father",
    "Daughter", "Child", "Baby", "Darling", "Sweetheart", "Friend", "Enemy", "Rival", "Hero",
    "Villain", "Saint", "Sinner", "Devil", "Demon", "Monster", "Giant", "Wizard", "Witch", "Magic",
    "Mystery", "Miracle", "Wonder", "Chaos", "Riot", "Revolution", "Rebel", "Freedom", "Liberty",
    "Glory", "Victory", "Fortune", "Luck", "Chance", "Fate", "Destiny", "Future", "History",
    "Legend", "Myth", "Fable", "Poem", "Novel", "Chapter", "Ink", "Canvas", "Portrait", "Statue",
    "Museum", "Gallery", "Theater", "Cinema", "Movie", "Voltage", "Wire", "Telephone", "Television",
    "Screen", "Camera", "Lens", "Prism", "Rainbow", "Color", "Harmony", "Symphony", "Overture",
    "Serenade", "Requiem", "Elegy", "Fanfare", "Drum", "Guitar", "Piano", "Violin", "Trumpet",
    "Saxophone", "Bell", "Whistle", "Siren", "Alarm", "Clock", "Hour", "Season", "Weekend",
    "Holiday", "Sunday", "Monday", "Friday", "Saturday", "January", "August", "October", "December",
    "Cathedral", "Chapel", "Temple", "Harvest", "Orchid", "Tulip", "Jasmine", "Magnolia",
    "Lavender", "Saffron", "Cinnamon", "Pepper", "Velocity", "Momentum", "Tempest", "Hurricane",
    "Tornado", "Avalanche", "Glacier", "Volcano", "Lagoon", "Reef", "Delta", "Bayou", "Prairie",
    "Tundra", "Summit", "Ridge", "Cliff", "Cave", "Tunnel", "Maze", "Labyrinth", "Puzzle", "Riddle",
    "Cipher", "Code", "Token", "Ticket", "Passport", "Suitcase", "Umbrella", "Blanket", "Pillow",
    "Candle", "Match", "Lighter", "Cigarette", "Perfume", "Lipstick", "Jacket", "Sweater", "Boots",
    "Necklace", "Ring", "Bracelet", "Locket", "Mask", "Costume", "Uniform", "Badge", "Medal",
    "Trophy", "Jackpot", "Casino", "Lottery", "Dice", "Domino", "Chess", "Checkmate", "Harpoon",
    "Lasso", "Saddle", "Wagon", "Train", "Caravan", "Cadillac", "Convertible", "Motorcycle",
    "Bicycle", "Sailboat", "Submarine", "Spaceship", "Astronaut", "Cowboy", "Pilot", "Captain",
    "Pirate", "Outlaw", "Bandit", "Gambler", "Drifter", "Hustler", "Poet", "Painter", "Dancer",
    "Singer", "Preacher",
];

#[rustfmt::skip]
pub(super) const PLURALS: &[&str] = &[
    "Harbors", "Wolves", "Lanterns", "Ravens", "Comets", "Strangers", "Saints", "Sinners", "Kings",
    "Queens", "Ghosts", "Angels", "Dreamers", "Wanderers", "Runaways", "Satellites", "Machines",
    "Engines", "Rockets", "Sparrows", "Foxes", "Tigers", "Lions", "Horses", "Sailors", "Soldiers",
    "Prophets", "Thieves", "Rebels", "Heroes", "Villains", "Giants", "Wizards", "Witches",
    "Monsters", "Demons", "Cowboys", "Pilots", "Astronauts", "Drifters", "Travelers", "Lovers",
    "Brothers", "Sisters", "Daughters", "Sons", "Children", "Animals", "Hounds", "Bandits",
    "Outlaws", "Pirates", "Mariners", "Magicians", "Poets", "Painters", "Dancers", "Kids", "Twins",
    "Cousins", "Neighbors", "Tourists", "Lights", "Shadows", "Echoes", "Mirrors", "Windows",
    "Gardens", "Rivers", "Oceans", "Waves", "Tides", "Storms", "Clouds", "Stars", "Planets",
    "Moons", "Flames", "Sparks", "Embers", "Diamonds", "Roses", "Lilies", "Feathers", "Arrows",
    "Anchors", "Bells", "Drums", "Guitars", "Pianos", "Hearts", "Bones", "Tears", "Eyes", "Hands",
    "Wings", "Crowns", "Castles", "Towers", "Bridges", "Streets", "Cities", "Highways", "Islands",
    "Mountains", "Valleys", "Forests", "Deserts", "Canyons", "Meadows", "Orchards", "Fireflies",
    "Butterflies", "Dragons", "Serpents", "Owls", "Hawks", "Crows", "Doves", "Whales", "Sharks",
    "Bears", "Rabbits", "Deer", "Panthers", "Stallions", "Secrets", "Memories", "Promises",
    "Letters", "Postcards", "Photographs", "Stories", "Dreams", "Nightmares", "Miracles", "Wonders",
    "Legends", "Myths", "Fables", "Poems", "Hymns", "Prayers", "Ballads", "Lullabies", "Anthems",
    "Melodies", "Rhythms", "Signals", "Radios", "Cassettes", "Records", "Circuits", "Pixels",
    "Atoms", "Galaxies", "Comets", "Horizons", "Sunsets", "Mornings", "Evenings", "Summers",
    "Winters", "Seasons", "Weekends", "Holidays", "Parades", "Carnivals", "Circuses", "Motels",
    "Diners", "Rooftops", "Balconies", "Staircases",
];

#[rustfmt::skip]
pub(super) const ADJECTIVES: &[&str] = &[
    "Velvet", "Golden", "Silver", "Crimson", "Scarlet", "Violet", "Indigo", "Emerald", "Amber",
    "Ivory", "Electric", "Neon", "Paper", "Glass", "Broken", "Northern", "Southern", "Eastern",
    "Western", "Lonely", "Wild", "Quiet", "Silent", "Loud", "Sweet", "Bitter", "Cold", "Warm",
    "Frozen", "Hollow", "Empty", "Endless", "Infinite", "Secret", "Hidden", "Lost", "Forgotten",
    "Sacred", "Holy", "Wicked", "Strange", "Pretty", "Beautiful", "Dirty", "Gentle", "Tender",
    "Savage", "Brave", "Young", "Old", "Ancient", "Modern", "Cosmic", "Lunar", "Solar", "Stellar",
    "Atomic", "Magnetic", "Digital", "Analog", "Blue", "Red", "Black", "White", "Green", "Pink",
    "Purple", "Grey", "Dark", "Bright", "Heavy", "Little", "Big", "Tiny", "Great", "Grand", "Royal",
    "Lazy", "Crazy", "Happy", "Blessed", "Restless", "Reckless", "Careless", "Fearless", "Helpless",
    "Hopeless", "Faithful", "Fragile", "Honest", "Lucky", "Mystic", "Perfect", "Precious",
    "Private", "Rusty", "Shiny", "Sleepy", "Slow", "Fast", "Smooth", "Soft", "Stormy", "Sunny",
    "Rainy", "Misty", "Dusty", "Salty", "Wandering", "Shimmering", "Glowing", "Drifting", "Howling",
    "Whispering", "Roaring", "Vanishing", "Distant", "Faraway", "Foreign", "Tropical", "Arctic",
    "Pacific", "Atlantic", "Coastal", "Plastic", "Chrome", "Concrete", "Wooden", "Cotton", "Satin",
    "Midnight", "Summer", "Winter", "Autumn", "Radiant", "Luminous", "Hazy", "Wired", "Feral",
    "Gilded", "Haunted", "Borrowed", "Stolen", "Painted", "Sunken", "Burnt", "Bleached", "Faded",
    "Tangled", "Twisted", "Crooked", "Humble", "Noble", "Sincere", "Vivid", "Mellow", "Bold",
    "Gritty", "Dizzy", "Giddy", "Jagged", "Lucid", "Supersonic", "Ultraviolet", "Infrared",
    "Hypnotic", "Magnetic", "Orbital", "Polar", "Tidal", "Volcanic", "Velveteen",
];

#[rustfmt::skip]
pub(super) const GERUNDS: &[&str] = &[
    "Dancing", "Falling", "Running", "Chasing", "Burning", "Waiting", "Dreaming", "Drifting",
    "Flying", "Breaking", "Fading", "Rising", "Shining", "Walking", "Driving", "Singing", "Calling",
    "Holding", "Losing", "Finding", "Leaving", "Coming", "Going", "Crying", "Laughing",
    "Whispering", "Sleeping", "Waking", "Floating", "Sinking", "Swimming", "Wandering", "Searching",
    "Hiding", "Fighting", "Praying", "Counting", "Kissing", "Loving", "Missing", "Turning",
    "Spinning", "Shaking", "Rolling", "Riding", "Racing", "Sailing", "Climbing", "Jumping",
    "Living", "Healing", "Breathing", "Staring", "Talking", "Painting", "Writing", "Chasing",
    "Hunting", "Digging", "Burying", "Bleeding", "Glowing", "Melting", "Freezing", "Shivering",
    "Trembling", "Humming", "Howling", "Roaming", "Stealing", "Building",
];

#[rustfmt::skip]
pub(super) const VERBS: &[&str] = &[
    "Run", "Fall", "Dance", "Shine", "Burn", "Wait", "Dream", "Drift", "Fly", "Break", "Fade",
    "Rise", "Walk", "Drive", "Sing", "Call", "Hold", "Lose", "Find", "Leave", "Come", "Go", "Cry",
    "Laugh", "Whisper", "Sleep", "Wake", "Float", "Sink", "Swim", "Wander", "Search", "Hide",
    "Fight", "Pray", "Count", "Kiss", "Love", "Miss", "Turn", "Spin", "Shake", "Roll", "Ride",
    "Race", "Sail", "Climb", "Jump", "Start", "Breathe", "Stay", "Follow", "Forget", "Remember",
    "Believe", "Carry", "Save", "Touch", "Feel", "Shout", "Light", "Steal", "Build", "Bleed",
    "Glow", "Melt", "Freeze", "Hum", "Howl", "Roam", "Wonder", "Listen", "Surrender", "Escape",
];

#[rustfmt::skip]
pub(super) const ADVERBS: &[&str] = &[
    "Tonight", "Forever", "Again", "Away", "Home", "Alone", "Together", "Slowly", "Tomorrow",
    "Today", "Now", "Down", "Back", "Closer", "Softly", "Higher", "Deeper", "Faster", "Louder",
    "Sometimes", "Always", "Anymore", "Outside", "Upstairs", "Downtown", "Sideways", "Backwards",
    "Gently", "Wildly", "Anyway", "Somehow", "Tonite", "Right Now", "All Night", "Till Dawn",
];

#[rustfmt::skip]
pub(super) const PLACES: &[&str] = &[
    "Tokyo", "Berlin", "Paris", "Lisbon", "Memphis", "Brooklyn", "Havana", "Osaka", "Seoul",
    "Lagos", "Nairobi", "Cairo", "Istanbul", "Athens", "Rome", "Naples", "Madrid", "Seville",
    "Barcelona", "Marseille", "Amsterdam", "Copenhagen", "Stockholm", "Oslo", "Helsinki",
    "Reykjavik", "Dublin", "Glasgow", "London", "Manchester", "Brighton", "Montreal", "Toronto",
    "Vancouver", "Chicago", "Detroit", "Nashville", "Austin", "Houston", "Phoenix", "Denver",
    "Seattle", "Portland", "Oakland", "Miami", "Atlanta", "Harlem", "Malibu", "Hollywood",
    "Las Vegas", "New Orleans", "Mexico City", "Buenos Aires", "Rio", "Sao Paulo", "Bogota", "Lima",
    "Santiago", "Sydney", "Melbourne", "Auckland", "Kyoto", "Shanghai", "Bangkok", "Manila",
    "Jakarta", "Casablanca", "Marrakesh", "Tangier", "Vienna", "Prague", "Budapest", "Warsaw",
    "Zurich", "Geneva", "Monaco", "Ibiza", "Mykonos", "Tulsa", "Alabama", "Georgia", "Carolina",
    "Tennessee", "Kentucky", "Texas", "California", "Arizona", "Montana", "Dakota", "Oklahoma",
    "Nevada", "Vermont", "Alaska", "Hawaii", "Jamaica", "Kingston", "Trinidad", "Bahia",
    "Andalusia", "Tuscany", "Provence", "Bavaria", "Siberia", "Patagonia", "Sahara", "Mojave",
    "Yukon", "Avalon", "Babylon", "Atlantis", "Shangri-La", "El Dorado", "Xanadu",
];

#[rustfmt::skip]
pub(super) const VENUES: &[&str] = &[
    "Ballroom", "Theatre", "Opera House", "Arena", "Bowl", "Hall", "Club", "Palladium",
    "Amphitheatre", "Lounge", "Roundhouse", "Coliseum",
];

#[rustfmt::skip]
pub(super) const NUMBERS: &[&str] = &[
    "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten", "Eleven", "Twelve",
    "Thirteen", "Twenty", "Forty", "Ninety-Nine", "Hundred", "Thousand", "Million",
];

pub(super) const SONG_WORDS: &[&str] = &[
    "Song", "Blues", "Anthem", "Lullaby", "Serenade", "Ballad", "Waltz", "Shuffle", "Stomp", "Boogie", "Rag", "Hymn",
    "Lament", "Jam", "Groove", "Theme", "Reprise", "Dub", "Swing",
];

pub(super) const CLASSICAL_FORMS: &[(&str, &str)] = &[
    ("Sonata", "Sonatas"),
    ("Nocturne", "Nocturnes"),
    ("Prelude", "Preludes"),
    ("Etude", "Etudes"),
    ("Fugue", "Fugues"),
    ("Concerto", "Concertos"),
    ("Symphony", "Symphonies"),
    ("Suite", "Suites"),
    ("Rhapsody", "Rhapsodies"),
    ("Fantasia", "Fantasias"),
    ("Impromptu", "Impromptus"),
    ("Ballade", "Ballades"),
    ("Waltz", "Waltzes"),
    ("Mazurka", "Mazurkas"),
    ("Partita", "Partitas"),
    ("Serenade", "Serenades"),
    ("String Quartet", "String Quartets"),
    ("Piano Trio", "Piano Trios"),
    ("Divertimento", "Divertimenti"),
    ("Toccata", "Toccatas"),
    ("Nocturne for Strings", "Nocturnes for Strings"),
];

#[rustfmt::skip]
pub(super) const KEYS: &[&str] = &[
    "C Major", "C Minor", "D Major", "D Minor", "E-Flat Major", "E Minor", "F Major", "F Minor",
    "F-Sharp Minor", "G Major", "G Minor", "A Major", "A Minor", "B-Flat Major", "B Minor",
];

#[rustfmt::skip]
pub(super) const MOVEMENTS: &[&str] = &[
    "Allegro", "Allegro moderato", "Andante", "Adagio", "Largo", "Presto", "Vivace", "Scherzo",
    "Menuetto", "Rondo", "Lento", "Allegretto", "Moderato", "Andante cantabile", "Allegro con brio",
    "Adagio sostenuto", "Finale. Presto", "Grave", "Larghetto",
];

pub(super) const ROMAN: &[&str] = &["I", "II", "III", "IV", "V", "VI"];
